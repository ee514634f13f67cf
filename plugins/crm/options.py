"""CRM's option lists (``core.options``): the slugs its records hold, the labels pages show.

Sources, industries, campaign channels and lost reasons are edited by an admin (seeded
by ``crm_0004``); a case's statuses are fixed, they are its states.
"""
from core.options import OptionList

from plugins.crm.models import CASE_STATUSES

SOURCE = OptionList("crm.source", "Sources", (
    ("website", "Website"), ("referral", "Referral"), ("event", "Event"), ("cold_call", "Cold call"),
    ("email", "Email"), ("partner", "Partner"), ("advertising", "Advertising"), ("other", "Other")))
INDUSTRY = OptionList("crm.industry", "Industries", (
    ("manufacturing", "Manufacturing"), ("retail", "Retail"), ("wholesale", "Wholesale"),
    ("services", "Services"), ("technology", "Technology"), ("healthcare", "Healthcare"),
    ("construction", "Construction"), ("hospitality", "Hospitality"), ("other", "Other")))
CHANNEL = OptionList("crm.channel", "Campaign channels", (
    ("email", "Email"), ("event", "Event"), ("web", "Web"), ("social", "Social"), ("print", "Print"),
    ("partner", "Partner"), ("other", "Other")))
LOST_REASON = OptionList("crm.lost_reason", "Lost reasons", (
    ("price", "Price"), ("competitor", "Went with a competitor"), ("timing", "Timing"),
    ("budget", "No budget"), ("no_decision", "No decision"), ("fit", "Not a fit"), ("other", "Other")))
CASE_STATUS = OptionList("crm.case_status", "Case statuses",
                         tuple((s, s.replace("_", " ").capitalize()) for s in CASE_STATUSES), editable=False)

#: The fields an automation rule may match a new lead on, and the lists their values are in.
LEAD_MATCH = {"industry": INDUSTRY, "source": SOURCE}
