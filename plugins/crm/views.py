"""CRM pages: the generic record pages plus the board, actions, reports, import and the
public lead form. Thin: parse -> service -> render or redirect with a flash message."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (Blueprint, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_login import current_user

from core.csvio import ImportRejected, csv_response
from core.db import db
from core.errors import NotFound, TandemError, ValidationFailed
from core.forms import action, load_form
from core.permissions import public, requires
from core.records import add_record_pages
from plugins.crm import queries, reports, rules, services, transfer, work
from plugins.crm.models import Deal, Pipeline
from plugins.crm.options import LOST_REASON
from plugins.crm.records import (ACCOUNT, ACTIVITY, AUTOMATION, CAMPAIGN, CASE, CONTACT, DEAL, LEAD,
                                 PIPELINE, QUOTE, TASK, TEAM, _users)
from plugins.crm.schemas import ConvertLeadSchema, LeadCaptureSchema, MoveDealSchema, QuoteLineSchema

bp = Blueprint("crm", __name__, url_prefix="/crm", template_folder="templates",
               static_folder="static", static_url_path="/static")

for _rt, _template in ((ACCOUNT, "crm/account_detail.html"), (CONTACT, "crm/contact_detail.html"),
                       (LEAD, "crm/lead_detail.html"), (DEAL, "crm/deal_detail.html"),
                       (QUOTE, "crm/quote_detail.html"), (CASE, "crm/case_detail.html"),
                       (TASK, "crm/task_detail.html"), (ACTIVITY, None), (CAMPAIGN, None),
                       (PIPELINE, None), (TEAM, None), (AUTOMATION, "crm/automation_detail.html")):
    add_record_pages(bp, _rt, _template)


def _back(endpoint: str, **values):
    return redirect(url_for(endpoint, **values))


# --- leads ---


@bp.route("/leads/<int:record_id>/convert", methods=["POST"])
@requires("crm.lead.write")
@action
def lead_convert(record_id):
    data, errors = load_form(ConvertLeadSchema())
    if errors:
        raise ValidationFailed(errors)
    lead = services.convert_lead(LEAD.get(record_id), data)
    flash(f"Lead “{lead.name}” converted.", "success")
    if lead.deal_id:
        return _back("crm.deal_detail", record_id=lead.deal_id)
    return _back("crm.contact_detail", record_id=lead.contact_id)


# --- deals and the board ---


@bp.route("/deals/<int:record_id>/win", methods=["POST"])
@requires("crm.deal.write")
@action
def deal_win(record_id):
    deal = services.win_deal(DEAL.get(record_id), request.form.get("override_reason"))
    flash(f"Deal “{deal.title}” won.", "success")
    return _back("crm.deal_detail", record_id=deal.id)


@bp.route("/deals/<int:record_id>/lose", methods=["POST"])
@requires("crm.deal.write")
@action
def deal_lose(record_id):
    deal = services.lose_deal(DEAL.get(record_id), request.form.get("reason", ""), request.form.get("note"))
    flash(f"Deal “{deal.title}” marked lost.", "success")
    return _back("crm.deal_detail", record_id=deal.id)


@bp.route("/board")
@requires("crm.deal.read")
def board():
    pipelines = list(db.session.scalars(sa.select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.name)))
    chosen = request.args.get("pipeline_id", type=int)
    pipeline = next((p for p in pipelines if p.id == chosen), pipelines[0] if pipelines else None)
    owner_id = request.args.get("owner_id", type=int)
    columns = []
    if pipeline is not None:
        stmt = DEAL.query().where(Deal.pipeline_id == pipeline.id)
        totals_stmt = rules.scope_by(Deal.owner_id)(
            sa.select(Deal.stage_id, sa.func.count(Deal.id), sa.func.coalesce(sa.func.sum(Deal.amount), 0))
            .where(Deal.pipeline_id == pipeline.id).group_by(Deal.stage_id))
        if owner_id:
            stmt, totals_stmt = stmt.where(Deal.owner_id == owner_id), totals_stmt.where(Deal.owner_id == owner_id)
        totals = {sid: (n, total) for sid, n, total in db.session.execute(totals_stmt)}
        deals: dict[int, list] = {}
        for deal in db.session.scalars(stmt.order_by(Deal.expected_close.is_(None), Deal.expected_close,
                                                     Deal.id).limit(2000)):
            deals.setdefault(deal.stage_id, []).append(deal)
        columns = [{"stage": s, "deals": deals.get(s.id, [])[:100], "count": totals.get(s.id, (0, 0))[0],
                    "total": totals.get(s.id, (0, 0))[1]} for s in pipeline.stages]
    return render_template("crm/board.html", pipelines=pipelines, pipeline=pipeline, columns=columns,
                           owners=_users(), owner_id=owner_id)


@bp.route("/board/move", methods=["POST"])
@requires("crm.deal.write")
def board_move():
    """JSON endpoint of the board's drag and drop (CSRF token in the X-CSRFToken header)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("deal_id"), int):
        return jsonify(code="validation_failed", message="Send {deal_id, stage_id} as JSON."), 422
    try:
        data = MoveDealSchema().load({k: v for k, v in payload.items() if k != "deal_id"})
        deal = services.move_deal(DEAL.get(payload["deal_id"]), data["stage_id"],
                                  data.get("override_reason"), data.get("lost_reason"), data.get("lost_note"))
    except TandemError as exc:
        db.session.rollback()
        return jsonify(exc.to_dict()), exc.status
    except Exception as exc:  # marshmallow.ValidationError
        if not hasattr(exc, "messages"):
            raise
        return jsonify(code="validation_failed", message="Invalid input", errors=exc.messages), 422
    return jsonify(ok=True, deal_id=deal.id, stage_id=deal.stage_id, status=deal.status,
                   message=f"“{deal.title}” moved to {deal.stage.name}.")


# --- activities, tasks, notifications ---


@bp.route("/activities/log", methods=["POST"])
@requires("crm.activity.write")
@action
def activity_log():
    data, errors = load_form(ACTIVITY.schema())
    if errors:
        raise ValidationFailed(errors)
    work.log_activity(data)
    flash("Activity logged.", "success")
    return redirect(request.referrer or url_for("crm.activity_list"))


@bp.route("/tasks/<int:record_id>/done", methods=["POST"])
@requires("crm.task.write")
@action
def task_done(record_id):
    task = work.set_task_done(TASK.get(record_id), request.form.get("done", "1") != "0")
    flash(f"Task “{task.title}” {'done' if task.done else 'opened again'}.", "success")
    return redirect(request.referrer or url_for("crm.my_tasks"))


@bp.route("/my-tasks")
@requires("crm.task.read")
def my_tasks():
    return render_template("crm/tasks.html", title="My tasks", tasks=queries.my_open_tasks())


@bp.route("/overdue-tasks")
@requires("crm.task.read")
def overdue_tasks():
    return render_template("crm/tasks.html", title="Overdue tasks", tasks=queries.overdue())


@bp.route("/notifications")
@requires("crm.task.read")
def notifications():
    return render_template("crm/notifications.html", notes=queries.unread_notifications())


@bp.route("/notifications/read", methods=["POST"])
@requires("crm.task.read")
@action
def notifications_read():
    count = work.mark_notifications_read(current_user.id)
    flash(f"{count} notification(s) marked read.", "success")
    return _back("crm.notifications")


@bp.route("/automations/run", methods=["POST"])
@requires("crm.automation.write")
@action
def automation_run():
    result = work.run_automation()
    flash(f"Automation done: {result['tasks_created']} follow-up task(s), "
          f"{result['leads_assigned']} lead(s) assigned.", "success")
    return _back("crm.automation_list")


# --- quotes ---


@bp.route("/quotes/<int:record_id>/<verb>", methods=["POST"])
@requires("crm.quote.write")
@action
def quote_action(record_id, verb):
    quote = work.quote_action(QUOTE.get(record_id), verb)
    flash(f"Quote {quote.title}: {quote.state}.", "success")
    return _back("crm.quote_detail", record_id=quote.id)


@bp.route("/quotes/<int:record_id>/lines", methods=["POST"])
@requires("crm.quote.write")
@action
def quote_lines(record_id):
    quote = QUOTE.get(record_id)
    schema, lines = QuoteLineSchema(), []
    names = ("description", "product_ref", "quantity", "unit_price", "discount", "tax_rate")
    columns = {n: request.form.getlist(n) for n in names}
    for i in range(len(columns["description"])):
        raw = {n: columns[n][i].strip() for n in names if i < len(columns[n]) and columns[n][i].strip()}
        if not raw or set(raw) <= {"quantity", "discount", "tax_rate"}:
            continue
        try:
            lines.append(schema.load(raw))
        except Exception as exc:
            if not hasattr(exc, "messages"):
                raise
            raise ValidationFailed({f"line {i + 1}": [f"{k}: {' '.join(v)}" for k, v in exc.messages.items()]})
    work.update_quote(quote, {"lines": lines})
    flash(f"Quote {quote.title} saved: total {quote.total} {quote.currency}.", "success")
    return _back("crm.quote_detail", record_id=quote.id)


@bp.route("/quotes/<int:record_id>/print")
@requires("crm.quote.read")
def quote_print(record_id):
    quote = QUOTE.get(record_id)
    stock = work.availability([l.product_ref for l in quote.lines if l.product_ref])
    return render_template("crm/quote_print.html", quote=quote, stock=stock)


# --- cases ---


@bp.route("/cases/<int:record_id>/resolve", methods=["POST"])
@requires("crm.case.write")
@action
def case_resolve(record_id):
    case = services.resolve_case(CASE.get(record_id), request.form.get("resolution", ""))
    flash(f"Case “{case.subject}” resolved.", "success")
    return _back("crm.case_detail", record_id=case.id)


# --- merges ---


@bp.route("/<kind>/<int:record_id>/merge", methods=["POST"])
@requires("crm.data.merge")
@action
def merge(kind, record_id):
    if kind not in ("contacts", "accounts"):
        raise NotFound(f"cannot merge {kind}")
    rt, merge_fn = (CONTACT, services.merge_contacts) if kind == "contacts" else (ACCOUNT, services.merge_accounts)
    other_id = request.form.get("other_id", type=int)
    if other_id is None:
        raise ValidationFailed({"other_id": ["Choose the record to merge in."]})
    keep = merge_fn(rt.get(record_id), rt.get(other_id))
    flash(f"Merged into “{keep.name}”.", "success")
    return _back(f"crm.{rt.name}_detail", record_id=keep.id)


# --- reports ---


@bp.route("/reports", endpoint="reports")
@requires("crm.report.read")
def reports_index():
    return render_template("crm/reports.html", reports=reports.REPORTS)


@bp.route("/reports/<name>")
@requires("crm.report.read")
def report(name):
    found = reports.REPORTS.get(name)
    if found is None:
        from core.errors import NotFound

        raise NotFound(f"no report named {name!r}")
    return render_template("crm/report.html", name=name, report=found, rows=[found.shown(r) for r in found.rows()])


@bp.route("/reports/<name>.csv")
@requires("crm.report.read")
def report_csv(name):
    found = reports.REPORTS.get(name)
    if found is None:
        from core.errors import NotFound

        raise NotFound(f"no report named {name!r}")
    from core.csvio import attr_columns

    return csv_response(f"{name}.csv", attr_columns(*found.columns), found.rows())


# --- import and export ---


@bp.route("/import", methods=["GET", "POST"])
@requires("crm.data.import")
def import_page():
    report, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        kind = request.form.get("kind", "")
        text = upload.read().decode("utf-8-sig", errors="replace") if upload else request.form.get("csv", "")
        try:
            if not text.strip():
                raise ValidationFailed({"file": ["Choose a CSV file."]})
            report = transfer.import_records(kind, text, transfer.parse_mapping(request.form.get("mapping", "")),
                                             all_or_nothing=not request.form.get("keep_good"))
            flash(f"{report.created} of {report.total} {kind} imported.", "success" if report.ok else "warning")
        except ImportRejected as exc:
            db.session.rollback()
            report, error = exc.report, exc.message
            flash(f"Nothing imported: {exc.message}.", "error")
        except TandemError as exc:
            db.session.rollback()
            error = exc.message
            flash(f"Nothing imported: {exc.message}", "error")
    return render_template("crm/import.html", report=report, error=error), (422 if error else 200)


@bp.route("/export/<kind>.csv")
@requires("crm.data.export")
def export(kind):
    columns, rows = transfer.export_rows(kind, {k: v for k, v in request.args.items()})
    return csv_response(f"{kind}.csv", columns, rows)


# --- public lead form ---


@bp.route("/lead-form", methods=["GET", "POST"])
@public
def lead_form():
    errors, values, done = {}, request.form, False
    if request.method == "POST":
        data, errors = load_form(LeadCaptureSchema())
        if data is not None:
            try:
                services.capture_lead(data, request.remote_addr or "unknown",
                                      current_app.config.get("CRM_CAPTURE_LIMIT", 5))
                done = True
            except ValidationFailed as exc:
                errors = exc.errors
            except services.TooManyRequests as exc:
                return render_template("crm/lead_form.html", errors={"_schema": [exc.message]},
                                       values=values, done=False), 429
    return render_template("crm/lead_form.html", errors=errors, values=values, done=done), \
        (422 if errors else 200)


@bp.route("/lead-form/embed")
@requires("crm.lead.write")
def lead_form_embed():
    return render_template("crm/lead_form_embed.html",
                           endpoint=url_for("crm_api.capture_lead", _external=True))



@bp.context_processor
def _page_helpers():
    """Timeline, open tasks and duplicates for the detail pages."""
    def duplicates(record):
        if isinstance(record, ACCOUNT.model):
            return services.duplicate_accounts(record.name, record.domain, exclude_id=record.id)
        found = services.contacts_by_email(record.email, exclude_id=record.id)
        if record.email_alt:
            found += [c for c in services.contacts_by_email(record.email_alt, exclude_id=record.id)
                      if c not in found]
        return found

    def catalog(limit: int = 500):
        """Products a quote line may pick, from whichever plugin answers product_catalog."""
        from core.registry import current_registry

        return [p for found in current_registry().hook.product_catalog(query="", limit=limit) for p in found]

    def win_problems(deal):
        """What stands in the way of winning ``deal``, and whether this user may override it."""
        found = services.deal_problems(deal)
        return found, services.may_override(found)

    def resolve_form(case):
        """Another plugin's form resolving ``case`` (case_resolve_form), or None for CRM's."""
        from core.registry import current_registry

        return current_registry().hook.case_resolve_form(case=case)

    return {"crm_timeline": queries.timeline, "crm_tasks": queries.tasks_on, "crm_duplicates": duplicates,
            "crm_catalog": catalog, "crm_win_problems": win_problems, "crm_resolve_form": resolve_form,
            "crm_lost_reasons": LOST_REASON.offered}
