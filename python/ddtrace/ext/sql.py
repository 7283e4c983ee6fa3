"""SQL spans: tag names and the vendor names ddtrace reports."""
from typing import Dict

SYSTEM = "db.system"
STATUS_CODE = "db.response.status_code"
DB = "sql.db"


def normalize_vendor(vendor: str) -> str:
    """The ``db.system`` ddtrace reports for a DB-API module's name."""
    if not vendor:
        return "db"
    if "sqlite" in vendor:
        return "sqlite"
    if "postgres" in vendor or vendor == "psycopg2":
        return "postgres"
    return vendor


def parse_pg_dsn(dsn: str) -> Dict[str, str]:
    """``"user=dog port=1543 dbname=dogdata"`` as a dict ({} if unreadable)."""
    try:
        return dict(item.split("=", 1) for item in dsn.split())
    except ValueError:
        return {}
