# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions of the backup code; the module turns each into one clear failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class BackupError(Exception):
    """Base class: the message is meant for the operator and never contains a secret."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


class BadInput(BackupError):
    """The request cannot be carried out as given; nothing was changed."""


class ToolError(BackupError):
    """pg_dump, pg_restore or another external tool failed."""


class RepositoryError(BackupError):
    """The backup repository cannot be read or written (permissions, full disk, missing backup)."""


class RestoreRefused(BackupError):
    """A guard stopped the restore before anything was changed."""


class VerificationFailed(BackupError):
    """A backup or a restored copy does not match its manifest."""
