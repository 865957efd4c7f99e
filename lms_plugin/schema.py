"""Every table, registered on the one metadata before the migrations or the app look at it: the
core's, the domains' and each area's own."""

from competency_framework import models as framework_tables  # noqa: F401
from courses import models as course_tables  # noqa: F401
from lms_plugin.core import audit as audit_tables  # noqa: F401
from lms_plugin.core import ledger as ledger_tables  # noqa: F401
from lms_plugin.core import people as people_tables  # noqa: F401
from lms_plugin.jobs import models as job_tables  # noqa: F401
from lms_plugin.people import models as sign_in_tables  # noqa: F401
from lms_plugin.practice import models as practice_tables  # noqa: F401
from lms_plugin.testing import models as testing_tables  # noqa: F401
