"""The mail host's own files and tools (not LDAP).

mlmmj list directories and commands (mlmmj.py); the Postfix queue (queue.py) and the
anti-virus/anti-spam services (services.py) through the root helper (roothelper.py, run
by helper.py through sudo).
"""

from .mlmmj import FLAG
from .mlmmj import FLAG_PARAMETERS
from .mlmmj import INSTALL_COMMAND
from .mlmmj import LINE
from .mlmmj import LINES
from .mlmmj import SUBSCRIPTIONS
from .mlmmj import TEXT
from .mlmmj import TUNABLES
from .mlmmj import MailHostError
from .mlmmj import MailHostUnavailable
from .mlmmj import Mlmmj
from .mlmmj import get_mlmmj
from .mlmmj import require_mlmmj

__all__ = [
    "FLAG",
    "FLAG_PARAMETERS",
    "INSTALL_COMMAND",
    "LINE",
    "LINES",
    "SUBSCRIPTIONS",
    "TEXT",
    "TUNABLES",
    "MailHostError",
    "MailHostUnavailable",
    "Mlmmj",
    "get_mlmmj",
    "require_mlmmj",
]
