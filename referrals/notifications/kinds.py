"""What the product tells people, and who each kind of message is for.

No message carries personal data: each says what happened, gives a referral reference
or a period, and links to a page that needs signing in.
"""

from __future__ import annotations

from ..choices import Choice, Role


class Kind(Choice):
    NEW_REFERRAL = "new_referral", "New referral (to the service's referral inbox)"
    REFERRAL_UPDATE = "referral_update", "Update from the referrer (to the service's inbox)"
    WITHDRAWN = (
        "withdrawn",
        "Referral closed or passed on by custody staff or an administrator (to the "
        "service's inbox)",
    )
    ACCEPTED = "accepted", "A referral you made was accepted"
    DECLINED = "declined", "A referral you made was declined"
    ENGAGED = "engaged", "The person attended their first appointment"
    CLOSED = "closed", "A referral you made was closed or passed on"
    OVERDUE_DIGEST = "overdue_digest", "Daily list of overdue referrals to your organisation"
    STALE_LISTINGS = "stale_listings", "Weekly reminder of listings not checked for 180 days"
    WEEKLY_SUMMARY = "weekly_summary", "Weekly reminder that last week's reports are ready"
    WEBHOOK = "webhook", "Status change posted to a registered system (webhook)"


class Status(Choice):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Not sent"


# The messages each role may turn off on /settings (the service inbox cannot: a new
# referral must always reach the service).
OPTIONAL_KINDS: dict[str, tuple[Kind, ...]] = {
    Role.CUSTODY: (Kind.ACCEPTED, Kind.DECLINED, Kind.ENGAGED, Kind.CLOSED),
    Role.PROVIDER: (Kind.OVERDUE_DIGEST, Kind.STALE_LISTINGS),
    Role.LEAD: (Kind.WEEKLY_SUMMARY,),
    Role.ADMIN: (),
}

# Messages to the service a referral was sent to: its referral inbox, else each member
# of its organisation's staff, as set when the message is sent.
INBOX_KINDS = (Kind.NEW_REFERRAL, Kind.REFERRAL_UPDATE, Kind.WITHDRAWN)

# Status changes the referrer hears about, by the status reached.
STATUS_KINDS = {
    "accepted": Kind.ACCEPTED,
    "declined": Kind.DECLINED,
    "engaged": Kind.ENGAGED,
    "closed": Kind.CLOSED,
}
# Status changes the service hears about when someone else made them, by the status
# reached: a referral closed or passed on at the custody suite, or by an administrator,
# is one the service must stop working on.
SERVICE_STATUS_KINDS = {"closed": Kind.WITHDRAWN}
