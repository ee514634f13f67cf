"""``/api/v1/crm``: CRM records and actions as JSON (parse -> service -> dump)."""
import marshmallow as ma
from flask import current_app, request
from flask_login import current_user

from core.api import ApiBlueprint
from core.csvio import csv_response
from core.permissions import public, requires
from core.records import add_record_api
from plugins.crm import reports, services, transfer, work
from plugins.crm.records import (ACCOUNT, ACTIVITY, AUTOMATION, CAMPAIGN, CASE, CONTACT, DEAL, LEAD,
                                 PIPELINE, QUOTE, TASK, TEAM)
from plugins.crm.schemas import (AccountSchema, ActivitySchema, AutomationResultSchema, ContactSchema,
                                 ConvertLeadSchema, DealSchema, EmailLogSchema, ImportReportSchema,
                                 ImportSchema, LeadCaptureSchema, LeadSchema, LoseDealSchema, MergeSchema,
                                 MoveDealSchema, NotificationSchema, ProblemSchema, QuoteSchema,
                                 ResolveCaseSchema, CaseSchema, TaskSchema, WinDealSchema)

blp = ApiBlueprint("crm", __name__)
for _rt in (ACCOUNT, CONTACT, LEAD, DEAL, ACTIVITY, TASK, QUOTE, CASE, CAMPAIGN, PIPELINE, TEAM, AUTOMATION):
    add_record_api(blp, _rt)


class DuplicateArgs(ma.Schema):
    email = ma.fields.String(load_default=None)
    name = ma.fields.String(load_default=None)
    domain = ma.fields.String(load_default=None)


class DuplicatesSchema(ma.Schema):
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema))
    accounts = ma.fields.List(ma.fields.Nested(AccountSchema))


class ReportSchema(ma.Schema):
    title = ma.fields.String()
    columns = ma.fields.List(ma.fields.String())
    rows = ma.fields.List(ma.fields.Dict())


class CaptureResultSchema(ma.Schema):
    ok = ma.fields.Boolean()
    message = ma.fields.String()


@blp.route("/leads/<int:record_id>/convert", methods=["POST"])
@requires("crm.lead.write")
@blp.arguments(ConvertLeadSchema)
@blp.response(200, LeadSchema)
def convert_lead(data, record_id):
    """Convert a lead: reuse or create its account and contact, optionally open a deal."""
    return services.convert_lead(LEAD.get(record_id), data)


@blp.route("/lead-capture", methods=["POST"])
@public
@blp.arguments(LeadCaptureSchema)
@blp.response(201, CaptureResultSchema)
def capture_lead(data):
    """Public lead capture (no login, no CSRF token): rate-limited per client address."""
    services.capture_lead(data, request.remote_addr or "unknown",
                          current_app.config.get("CRM_CAPTURE_LIMIT", 5))
    return {"ok": True, "message": "Thank you, we will be in touch."}


@blp.route("/deals/<int:record_id>/problems", methods=["GET"])
@requires("crm.deal.read")
@blp.response(200, ProblemSchema(many=True))
def deal_problems(record_id):
    """What other modules see against winning this deal now (``check_deal_won``)."""
    return services.deal_problems(DEAL.get(record_id))


@blp.route("/deals/<int:record_id>/win", methods=["POST"])
@requires("crm.deal.write")
@blp.arguments(WinDealSchema)
@blp.response(200, DealSchema)
def win_deal(data, record_id):
    """Win a deal (409 ``deal_blocked`` with the problems, unless overridden with a reason)."""
    return services.win_deal(DEAL.get(record_id), data.get("override_reason"))


@blp.route("/deals/<int:record_id>/lose", methods=["POST"])
@requires("crm.deal.write")
@blp.arguments(LoseDealSchema)
@blp.response(200, DealSchema)
def lose_deal(data, record_id):
    """Lose a deal, saying why: a slug of the ``crm.lost_reason`` list, and a note."""
    return services.lose_deal(DEAL.get(record_id), data["reason"], data.get("note"))


@blp.route("/deals/<int:record_id>/move", methods=["POST"])
@requires("crm.deal.write")
@blp.arguments(MoveDealSchema)
@blp.response(200, DealSchema)
def move_deal(data, record_id):
    """Move a deal to another stage of its pipeline (won stage: win; lost stage: needs lost_reason)."""
    return services.move_deal(DEAL.get(record_id), data["stage_id"], data.get("override_reason"),
                              data.get("lost_reason"), data.get("lost_note"))


@blp.route("/activities/email", methods=["POST"])
@requires("crm.activity.write")
@blp.arguments(EmailLogSchema)
@blp.response(201, ActivitySchema)
def log_email(data):
    """Log an email (raw RFC 822 or its parts) on the contact whose address matches."""
    return work.log_email(data)


@blp.route("/tasks/mine", methods=["GET"])
@requires("crm.task.read")
@blp.response(200, TaskSchema(many=True))
def my_tasks():
    """The current user's open tasks, soonest due first."""
    from plugins.crm.queries import my_open_tasks

    return my_open_tasks()


@blp.route("/tasks/overdue", methods=["GET"])
@requires("crm.task.read")
@blp.response(200, TaskSchema(many=True))
def overdue_tasks():
    """Open tasks past their due date that the user may see."""
    from plugins.crm.queries import overdue

    return overdue()


@blp.route("/quotes/<int:record_id>/<action>", methods=["POST"])
@requires("crm.quote.write")
@blp.response(200, QuoteSchema)
def quote_action(record_id, action):
    """Send, accept (sets the deal's amount), reject, or revise (new draft version) a quote."""
    return work.quote_action(QUOTE.get(record_id), action)


@blp.route("/cases/<int:record_id>/resolve", methods=["POST"])
@requires("crm.case.write")
@blp.arguments(ResolveCaseSchema)
@blp.response(200, CaseSchema)
def resolve_case(data, record_id):
    """Resolve a case; other modules act on the resolution (``on_case_resolved``)."""
    return services.resolve_case(CASE.get(record_id), data["resolution"])


@blp.route("/duplicates", methods=["GET"])
@requires("crm.contact.read")
@blp.arguments(DuplicateArgs, location="query")
@blp.response(200, DuplicatesSchema)
def duplicates(args):
    """Contacts with this email, accounts with this domain or normalised name."""
    return {"contacts": services.contacts_by_email(args.get("email")),
            "accounts": services.duplicate_accounts(args.get("name"), args.get("domain"))}


@blp.route("/contacts/<int:record_id>/merge", methods=["POST"])
@requires("crm.data.merge")
@blp.arguments(MergeSchema)
@blp.response(200, ContactSchema)
def merge_contacts(data, record_id):
    """Merge another contact into this one (its deals, activities, tasks, cases move)."""
    return services.merge_contacts(CONTACT.get(record_id), CONTACT.get(data["other_id"]))


@blp.route("/accounts/<int:record_id>/merge", methods=["POST"])
@requires("crm.data.merge")
@blp.arguments(MergeSchema)
@blp.response(200, AccountSchema)
def merge_accounts(data, record_id):
    """Merge another account into this one (contacts, deals, activities, tasks, cases move)."""
    return services.merge_accounts(ACCOUNT.get(record_id), ACCOUNT.get(data["other_id"]))


@blp.route("/import/<kind>", methods=["POST"])
@requires("crm.data.import")
@blp.arguments(ImportSchema)
@blp.response(200, ImportReportSchema)
def import_records(data, kind):
    """Import CSV text; all-or-nothing by default (422 ``import_rejected`` with the report)."""
    return transfer.import_records(kind, data["csv"], data["mapping"], data["all_or_nothing"]).to_dict()


@blp.route("/export/<kind>", methods=["GET"])
@requires("crm.data.export")
def export_records(kind):
    """CSV of the records the user may see (formula-safe)."""
    columns, rows = transfer.export_rows(kind)
    return csv_response(f"{kind}.csv", columns, rows)


@blp.route("/reports/<name>", methods=["GET"])
@requires("crm.report.read")
@blp.response(200, ReportSchema)
def report(name):
    """One sales report: pipeline, forecast, win-rate-owner|source|campaign, sales-cycle,
    activities, overdue-tasks, campaigns."""
    found = reports.REPORTS.get(name)
    if found is None:
        from core.errors import NotFound

        raise NotFound(f"no report named {name!r}; choose from {', '.join(reports.REPORTS)}")
    rows = [{k: (str(v) if v is not None and not isinstance(v, (int, float, str)) else v)
             for k, v in row.items()} for row in found.rows()]
    return {"title": found.title, "columns": list(found.columns), "rows": rows}


@blp.route("/automation/run", methods=["POST"])
@requires("crm.automation.write")
@blp.response(200, AutomationResultSchema)
def run_automation():
    """Apply the automation rules now (a scheduler may call this)."""
    return work.run_automation()


@blp.route("/notifications", methods=["GET"])
@requires("crm.task.read")
@blp.response(200, NotificationSchema(many=True))
def notifications():
    """The current user's unread notifications."""
    from plugins.crm.queries import unread_notifications

    return unread_notifications()


@blp.route("/notifications/read", methods=["POST"])
@requires("crm.task.read")
@blp.response(200, CaptureResultSchema)
def read_notifications():
    """Mark every notification of the current user read."""
    count = work.mark_notifications_read(current_user.id)
    return {"ok": True, "message": f"{count} marked read"}
