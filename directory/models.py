"""Import every model so that metadata (and Alembic) see all tables."""

from directory.accounts.audit import AuditEvent  # noqa: F401
from directory.accounts.models import LoginThrottle, User  # noqa: F401
from directory.catalog.models import (  # noqa: F401
    ChangeRecord,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.catalog.outbox import SearchChange  # noqa: F401
from directory.logchain import LogChain  # noqa: F401
from directory.notifications.models import Delivery, Notification  # noqa: F401
from directory.referrals.models import Attempt, Client, Consent, Need, Referral  # noqa: F401
from directory.referrals.shared_lists import SharedList  # noqa: F401
