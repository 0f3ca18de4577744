# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # PostgreSQL connection options, named as community.postgresql names them.
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host running the database.
      - Falls back to the E(PGHOST) environment variable; without either, the local Unix socket.
    type: str
  login_port:
    description:
      - Database port. Falls back to E(PGPORT), then 5432.
    type: int
  login_user:
    description:
      - Role to log in as. Falls back to E(PGUSER), then C(postgres).
    type: str
  login_password:
    description:
      - Password of O(login_user). Falls back to E(PGPASSWORD). Never logged.
    type: str
  login_db:
    description:
      - Database to connect to. Falls back to E(PGDATABASE), then C(postgres).
    type: str
  login_unix_socket:
    description:
      - Directory of the server's Unix domain socket, for local connections. Takes precedence over O(login_host).
    type: str
  ssl_mode:
    description:
      - Whether or with what priority a secure SSL TCP/IP connection is negotiated (libpq's C(sslmode)).
    type: str
    default: prefer
    choices: [ allow, disable, prefer, require, verify-ca, verify-full ]
  ca_cert:
    description:
      - File with the SSL certificate authority certificate(s) the server's certificate must be signed by.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection before failing.
    type: int
    default: 5
requirements:
  - psycopg2 >= 2.8
'''
