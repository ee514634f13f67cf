"""How CRM records are listed, searched, filtered and edited (see ``core.records``).

Every owned record type carries a ``scope`` (``plugins.crm.rules``): lists, look-ups by
id, edits and exports only ever see what the user may see.
"""
import sqlalchemy as sa

from core.auth.models import User
from core.db import db
from core.records import Column, FormField, RecordType, held_record_label
from plugins.crm import rules, services, work
from plugins.crm.models import (ACTIVITY_KINDS, CASE_PRIORITIES, CURRENCIES, LEAD_STATUSES, SIZES,
                                Account, Activity, AutomationRule, Campaign, Case, Contact, Deal, Lead,
                                Pipeline, Quote, Task, Team)
from plugins.crm.options import CASE_STATUS, CHANNEL, INDUSTRY, SOURCE
from plugins.crm.schemas import (AccountSchema, ActivitySchema, AutomationRuleSchema, CampaignSchema,
                                 CaseSchema, ContactSchema, DealSchema, LeadSchema, PipelineSchema,
                                 QuoteSchema, TaskSchema, TeamSchema)


def _with(*relationships):
    """A record type's ``load``: the users it shows joined into its query (models leave
    them lazy, for the many places that load a record without showing who owns it)."""
    return lambda: tuple(sa.orm.joinedload(r) for r in relationships)


def _users():
    return [(str(u.id), u.name) for u in db.session.execute(
        sa.select(User.id, User.name).where(User.active.is_(True)).order_by(User.name))]


_user_who_left = held_record_label(User, lambda user: user.name)  # an owner deactivated since


def _choices(values):
    return lambda: [(v, v) for v in values]


def _stages():
    from plugins.crm.models import Stage

    return [(str(s.id), f"{p} › {s.name}") for s, p in db.session.execute(
        sa.select(Stage, Pipeline.name).join(Pipeline).order_by(Pipeline.name, Stage.position))]


OWNER = FormField("owner_id", "Owner", "select", options=_users, held_label=_user_who_left)
scope_accounts = rules.scope_by(Account.owner_id)
scope_contacts = rules.scope_by(Contact.owner_id)
scope_deals = rules.scope_by(Deal.owner_id)

ACCOUNT = RecordType(
    plugin="crm", blueprint="crm", name="account", plural="accounts", model=Account, schema=AccountSchema,
    load=_with(Account.owner),
    create=services.create_account, update=services.update_account, scope=scope_accounts,
    duplicates=lambda data: services.duplicate_accounts(data.get("name"), data.get("domain")),
    columns=(Column("name", "Name", sort="name", link=True), Column("domain", "Domain", sort="domain"),
             Column("industry", "Industry", sort="industry"), Column("phone", "Phone"),
             Column("owner_name", "Owner")),
    form=(FormField("name", "Name", required=True), FormField("domain", "Domain"),
          FormField("industry", "Industry", option_list=INDUSTRY),
          FormField("size", "Size", "select", options=_choices(SIZES)),
          FormField("phone", "Phone"), FormField("address", "Address", "textarea"),
          FormField("tags", "Tags", help="Comma-separated"), OWNER),
    search=(Account.name, Account.domain, Account.tags),
    sortable={"id": Account.id, "name": Account.name, "domain": Account.domain,
              "industry": Account.industry, "updated_at": Account.updated_at},
    filters={"industry": Account.industry, "owner_id": Account.owner_id},
    default_sort="name",
    detail_fields=(("name", "Name"), ("domain", "Domain"), ("industry", "Industry"),
                   ("size", "Size"), ("phone", "Phone"), ("address", "Address"),
                   ("tags", "Tags"), ("owner_name", "Owner")),
)

CONTACT = RecordType(
    plugin="crm", blueprint="crm", name="contact", plural="contacts", model=Contact, schema=ContactSchema,
    load=_with(Contact.owner),
    create=services.create_contact, update=services.update_contact, scope=scope_contacts,
    duplicates=lambda data: services.contacts_by_email(data.get("email")),
    columns=(Column("name", "Name", sort="name", link=True), Column("email", "Email", sort="email"),
             Column("account_name", "Account"), Column("job_title", "Job title"),
             Column("owner_name", "Owner")),
    form=(FormField("name", "Name", required=True), FormField("email", "Email", "email"),
          FormField("email_alt", "Other email", "email"), FormField("phone", "Phone", "tel"),
          FormField("mobile", "Mobile", "tel"), FormField("job_title", "Job title"),
          FormField("account_id", "Account", relation="crm.account"),
          FormField("source", "Source", option_list=SOURCE),
          FormField("tags", "Tags", help="Comma-separated"), OWNER),
    search=(Contact.name, Contact.email, Contact.email_alt, Contact.phone, Contact.tags),
    sortable={"id": Contact.id, "name": Contact.name, "email": Contact.email,
              "updated_at": Contact.updated_at},
    filters={"account_id": Contact.account_id, "owner_id": Contact.owner_id, "source": Contact.source},
    default_sort="name",
    detail_fields=(("name", "Name"), ("email", "Email"), ("email_alt", "Other email"), ("phone", "Phone"),
                   ("mobile", "Mobile"), ("job_title", "Job title"), ("account_name", "Account"),
                   ("source", "Source"), ("tags", "Tags"), ("owner_name", "Owner")),
)

LEAD = RecordType(
    plugin="crm", blueprint="crm", name="lead", plural="leads", model=Lead, schema=LeadSchema,
    load=_with(Lead.owner),
    create=services.create_lead, update=services.update_lead, scope=rules.scope_by(Lead.owner_id),
    columns=(Column("name", "Name", sort="name", link=True), Column("company", "Company", sort="company"),
             Column("email", "Email"), Column("source", "Source"), Column("status", "Status", badge=True),
             Column("owner_name", "Owner")),
    form=(FormField("name", "Name", required=True), FormField("company", "Company"),
          FormField("email", "Email", "email"), FormField("phone", "Phone", "tel"),
          FormField("source", "Source", option_list=SOURCE),
          FormField("industry", "Industry", option_list=INDUSTRY),
          FormField("territory", "Territory"),
          FormField("campaign_id", "Campaign", relation="crm.campaign"),
          FormField("status", "Status", "select", options=_choices(LEAD_STATUSES[:3] + LEAD_STATUSES[4:])),
          OWNER, FormField("notes", "Notes", "textarea")),
    search=(Lead.name, Lead.company, Lead.email),
    sortable={"id": Lead.id, "name": Lead.name, "company": Lead.company, "created_at": Lead.created_at},
    filters={"status": Lead.status, "source": Lead.source, "owner_id": Lead.owner_id,
             "campaign_id": Lead.campaign_id},
    default_sort="-id",
    detail_fields=(("name", "Name"), ("company", "Company"), ("email", "Email"), ("phone", "Phone"),
                   ("source", "Source"), ("industry", "Industry"), ("territory", "Territory"),
                   ("campaign_name", "Campaign"), ("status", "Status"), ("owner_name", "Owner"),
                   ("notes", "Notes"), ("converted_at", "Converted")),
)

DEAL = RecordType(
    plugin="crm", blueprint="crm", name="deal", plural="deals", model=Deal, schema=DealSchema,
    load=_with(Deal.owner),
    create=services.create_deal, update=services.update_deal, scope=scope_deals, title_attr="title",
    columns=(Column("title", "Title", sort="title", link=True), Column("account_name", "Account"),
             Column("stage_name", "Stage"), Column("amount", "Amount", sort="amount"),
             Column("currency", "Cur."), Column("expected_close", "Expected close", sort="expected_close"),
             Column("status", "Status", badge=True), Column("owner_name", "Owner")),
    form=(FormField("title", "Title", required=True),
          FormField("account_id", "Account", relation="crm.account"),
          FormField("contact_id", "Contact", relation="crm.contact"),
          FormField("amount", "Amount", "number"),
          FormField("currency", "Currency", "select", options=_choices(CURRENCIES)),
          FormField("stage_id", "Stage", "select", options=_stages),
          FormField("probability", "Probability (%)", "number", help="Defaults to the stage's"),
          FormField("expected_close", "Expected close", "date"),
          FormField("source", "Source", option_list=SOURCE),
          FormField("campaign_id", "Campaign", relation="crm.campaign"), OWNER),
    search=(Deal.title,),
    sortable={"id": Deal.id, "title": Deal.title, "amount": Deal.amount,
              "expected_close": Deal.expected_close, "updated_at": Deal.updated_at},
    filters={"stage_id": Deal.stage_id, "pipeline_id": Deal.pipeline_id, "owner_id": Deal.owner_id,
             "account_id": Deal.account_id, "contact_id": Deal.contact_id, "source": Deal.source, "campaign_id": Deal.campaign_id},
    default_sort="-id",
    detail_fields=(("title", "Title"), ("account_name", "Account"), ("contact_name", "Contact"),
                   ("amount", "Amount"), ("currency", "Currency"), ("stage_name", "Stage"),
                   ("probability", "Probability (%)"), ("expected_close", "Expected close"),
                   ("source", "Source"), ("owner_name", "Owner"), ("lost_reason", "Lost reason"),
                   ("lost_note", "Why lost"), ("won_at", "Won"), ("lost_at", "Lost"), ("override_reason", "Won despite")),
)

ACTIVITY = RecordType(
    plugin="crm", blueprint="crm", name="activity", plural="activities", model=Activity,
    load=_with(Activity.author),
    schema=ActivitySchema, create=work.log_activity, update=work.update_activity,
    scope=rules.scope_activities, title_attr="subject",
    columns=(Column("occurred_at", "When", sort="occurred_at"), Column("kind", "Kind", badge=True),
             Column("subject", "Subject", link=True), Column("author_name", "By")),
    form=(FormField("kind", "Kind", "select", required=True, options=_choices(ACTIVITY_KINDS)),
          FormField("subject", "Subject", required=True), FormField("body", "Details", "textarea"),
          FormField("occurred_at", "When", "datetime-local", help="Now when left empty"),
          FormField("contact_id", "Contact", relation="crm.contact"),
          FormField("account_id", "Account", relation="crm.account"),
          FormField("deal_id", "Deal", relation="crm.deal")),
    search=(Activity.subject, Activity.body),
    sortable={"id": Activity.id, "occurred_at": Activity.occurred_at},
    filters={"kind": Activity.kind, "author_id": Activity.author_id, "contact_id": Activity.contact_id,
             "account_id": Activity.account_id, "deal_id": Activity.deal_id},
    default_sort="-occurred_at",
    detail_fields=(("kind", "Kind"), ("subject", "Subject"), ("occurred_at", "When"),
                   ("author_name", "By"), ("body", "Details")),
)

TASK = RecordType(
    plugin="crm", blueprint="crm", name="task", plural="tasks", model=Task, schema=TaskSchema,
    load=_with(Task.assignee),
    create=work.create_task, update=work.update_task, scope=rules.scope_by(Task.assignee_id),
    title_attr="title",
    columns=(Column("title", "Task", sort="title", link=True), Column("due_on", "Due", sort="due_on"),
             Column("assignee_name", "Assignee"), Column("state", "State", badge=True)),
    form=(FormField("title", "Task", required=True), FormField("due_on", "Due", "date"),
          FormField("assignee_id", "Assignee", "select", options=_users, held_label=_user_who_left),
          FormField("done", "Done", "checkbox"), FormField("notes", "Notes", "textarea"),
          FormField("contact_id", "Contact", relation="crm.contact"),
          FormField("account_id", "Account", relation="crm.account"),
          FormField("deal_id", "Deal", relation="crm.deal")),
    search=(Task.title, Task.notes),
    sortable={"id": Task.id, "title": Task.title, "due_on": Task.due_on},
    filters={"assignee_id": Task.assignee_id, "deal_id": Task.deal_id},
    default_sort="due_on",
    detail_fields=(("title", "Task"), ("due_on", "Due"), ("assignee_name", "Assignee"),
                   ("state", "State"), ("notes", "Notes")),
)

QUOTE = RecordType(
    plugin="crm", blueprint="crm", name="quote", plural="quotes", model=Quote, schema=QuoteSchema,
    create=work.create_quote, update=work.update_quote, scope=rules.scope_quotes, title_attr="title",
    locked=work.quote_lock,
    choice_label=("number",),
    columns=(Column("title", "Quote", sort="number", link=True), Column("deal_title", "Deal"),
             Column("state", "State", badge=True), Column("total", "Total", sort="total"),
             Column("currency", "Cur.")),
    form=(FormField("deal_id", "Deal", required=True, relation="crm.deal"),
          FormField("currency", "Currency", "select", options=_choices(CURRENCIES)),
          FormField("valid_until", "Valid until", "date"), FormField("notes", "Notes", "textarea")),
    search=(Quote.number,),
    sortable={"id": Quote.id, "number": Quote.number, "total": Quote.total},
    filters={"deal_id": Quote.deal_id, "state": Quote.state},
    default_sort="-id",
)

CASE = RecordType(
    plugin="crm", blueprint="crm", name="case", plural="cases", model=Case, schema=CaseSchema,
    load=_with(Case.owner),
    create=services.create_case, update=services.update_case, scope=rules.scope_by(Case.owner_id),
    title_attr="subject",
    columns=(Column("subject", "Subject", sort="subject", link=True), Column("account_name", "Account"),
             Column("priority", "Priority", sort="priority"), Column("status", "Status", badge=True),
             Column("owner_name", "Owner")),
    form=(FormField("subject", "Subject", required=True), FormField("description", "Description", "textarea"),
          FormField("account_id", "Account", relation="crm.account"),
          FormField("contact_id", "Contact", relation="crm.contact"),
          FormField("priority", "Priority", "select", options=_choices(CASE_PRIORITIES)),
          FormField("status", "Status", "select", options=lambda: [o for o in CASE_STATUS.offered()
                                                                   if o[0] != "resolved"]), OWNER),
    search=(Case.subject, Case.description),
    sortable={"id": Case.id, "subject": Case.subject, "priority": Case.priority, "created_at": Case.created_at},
    filters={"status": Case.status, "priority": Case.priority, "owner_id": Case.owner_id,
             "account_id": Case.account_id},
    default_sort="-id",
    detail_fields=(("subject", "Subject"), ("account_name", "Account"), ("status", "Status"),
                   ("priority", "Priority"), ("owner_name", "Owner"), ("description", "Description"),
                   ("resolution", "Resolution"), ("resolved_at", "Resolved")),
)

CAMPAIGN = RecordType(
    plugin="crm", blueprint="crm", name="campaign", plural="campaigns", model=Campaign, schema=CampaignSchema,
    create=services.create_campaign, update=services.update_campaign,
    columns=(Column("name", "Name", sort="name", link=True), Column("channel", "Channel"),
             Column("starts_on", "Starts", sort="starts_on"), Column("ends_on", "Ends"),
             Column("cost", "Cost"), Column("currency", "Cur.")),
    form=(FormField("name", "Name", required=True),
          FormField("channel", "Channel", option_list=CHANNEL),
          FormField("starts_on", "Starts", "date"), FormField("ends_on", "Ends", "date"),
          FormField("cost", "Cost", "number"),
          FormField("currency", "Currency", "select", options=_choices(CURRENCIES))),
    search=(Campaign.name,),
    sortable={"id": Campaign.id, "name": Campaign.name, "starts_on": Campaign.starts_on},
    filters={"channel": Campaign.channel},
    default_sort="-id",
)

PIPELINE = RecordType(
    plugin="crm", blueprint="crm", name="pipeline", plural="pipelines", model=Pipeline, schema=PipelineSchema,
    create=services.create_pipeline_from, update=services.update_pipeline,
    columns=(Column("name", "Name", sort="name", link=True), Column("stage_names", "Stages")),
    form=(FormField("name", "Name", required=True), FormField("is_default", "Default pipeline", "checkbox"),
          FormField("stage_lines", "Stages (new pipelines)", "textarea",
                    help="One a line: Name, probability[, won|lost]. Empty: the default stages.")),
    search=(Pipeline.name,), sortable={"id": Pipeline.id, "name": Pipeline.name}, default_sort="name",
    detail_fields=(("name", "Name"), ("is_default", "Default"), ("stage_names", "Stages")),
)

TEAM = RecordType(
    plugin="crm", blueprint="crm", name="team", plural="teams", model=Team, schema=TeamSchema,
    load=_with(Team.manager),
    create=services.create_team, update=services.update_team,
    columns=(Column("name", "Name", sort="name", link=True), Column("manager_name", "Manager"),
             Column("member_names", "Members")),
    form=(FormField("name", "Name", required=True),
          FormField("manager_id", "Manager", "select", options=_users, held_label=_user_who_left),
          FormField("member_ids", "Members", "multiselect", options=_users, held_label=_user_who_left)),
    search=(Team.name,), sortable={"id": Team.id, "name": Team.name}, default_sort="name",
    detail_fields=(("name", "Name"), ("manager_name", "Manager"), ("member_names", "Members")),
)

AUTOMATION = RecordType(
    plugin="crm", blueprint="crm", name="automation", plural="automations", model=AutomationRule,
    schema=AutomationRuleSchema, create=work.create_rule, update=work.update_rule,
    columns=(Column("name", "Rule", sort="name", link=True), Column("kind", "Kind", badge=True),
             Column("days", "Days"), Column("match_field", "Field"), Column("match_value", "Value"),
             Column("assignee_ids", "Assignees (ids)"), Column("active", "Active")),
    form=(FormField("name", "Name", required=True),
          FormField("kind", "Kind", "select", required=True,
                    options=lambda: [("stale_deal", "Deal without activity → follow-up task"),
                                     ("assign_lead", "New lead → assign an owner")]),
          FormField("days", "Days without activity", "number"),
          FormField("match_field", "Only leads whose", "select",
                    options=_choices(("territory", "industry", "source"))),
          FormField("match_value", "is"),
          FormField("assignee_ids", "Assign to (user ids, round robin)", help="e.g. 3,7"),
          FormField("position", "Order", "number"), FormField("active", "Active", "checkbox")),
    search=(AutomationRule.name,), sortable={"id": AutomationRule.id, "name": AutomationRule.name},
    filters={"kind": AutomationRule.kind}, default_sort="name",
)

#: Records that can be exported and imported as CSV, by URL name.
TRANSFERABLE = {"accounts": ACCOUNT, "contacts": CONTACT, "leads": LEAD}
