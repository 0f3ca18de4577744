# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection options (community.postgresql's names) and one way to connect.

Raises PostgresConnectionError with a message fit for an operator; never includes the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

try:
    import psycopg2
    import psycopg2.extras

    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported through missing_required_lib
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = exc


class PostgresConnectionError(Exception):
    """The server could not be reached or refused the login."""


def postgres_argument_spec():
    """Connection options shared by every PostgreSQL module of this collection (doc fragment: postgres)."""
    return dict(
        login_host=dict(type="str", fallback=(env_fallback, ["PGHOST"])),
        login_port=dict(type="int", fallback=(env_fallback, ["PGPORT"])),
        login_user=dict(type="str", fallback=(env_fallback, ["PGUSER"])),
        login_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PGPASSWORD"])),
        login_db=dict(type="str", fallback=(env_fallback, ["PGDATABASE"])),
        login_unix_socket=dict(type="str"),
        ssl_mode=dict(type="str", default="prefer",
                      choices=["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]),
        ca_cert=dict(type="path"),
        connect_timeout=dict(type="int", default=5),
    )


def connection_kwargs(params, dbname=None, application_name=None):
    """psycopg2.connect() keyword arguments from the module's parameters."""
    kwargs = {
        "host": params.get("login_unix_socket") or params.get("login_host") or None,
        "port": params.get("login_port") or 5432,
        "user": params.get("login_user") or "postgres",
        "password": params.get("login_password") or None,
        "dbname": dbname or params.get("login_db") or "postgres",
        "sslmode": params.get("ssl_mode") or "prefer",
        "connect_timeout": params.get("connect_timeout") or 5,
    }
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    if application_name:
        kwargs["application_name"] = application_name
    return {k: v for k, v in kwargs.items() if v is not None}


def describe_target(kwargs):
    return "%s@%s:%s/%s" % (kwargs.get("user"), kwargs.get("host", "local socket"), kwargs.get("port"),
                            kwargs.get("dbname"))


def connect(params, dbname=None, application_name=None, autocommit=True):
    """Open a connection; the error names the target but never the password."""
    kwargs = connection_kwargs(params, dbname=dbname, application_name=application_name)
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        message = str(exc).strip()
        password = kwargs.get("password")
        if password:
            message = message.replace(password, "********")
        raise PostgresConnectionError(
            "cannot connect to PostgreSQL %s: %s" % (describe_target(kwargs), message)) from None
    conn.autocommit = autocommit
    return conn
