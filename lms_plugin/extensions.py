"""Flask extensions, created unbound and attached in ``create_app`` with ``init_app``."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from lms_plugin.core.base import Base

# Tables are declared on the domain packages' base; the extension shares its metadata.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
