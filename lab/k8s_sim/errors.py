"""Kubernetes API errors, rendered as `kind: Status` exactly as the apiserver does."""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, causes=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.causes = causes

    def status(self):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None or self.causes:
            details = dict(self.details or {})
            if self.causes:
                details["causes"] = self.causes
            body["details"] = details
        body["code"] = self.code
        return body


def _qualified(rtype):
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


def _details(rtype, name):
    details = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return details


def not_found(rtype, name):
    return ApiError(404, "NotFound", f'{_qualified(rtype)} "{name}" not found', _details(rtype, name))


def already_exists(rtype, name):
    return ApiError(409, "AlreadyExists", f'{_qualified(rtype)} "{name}" already exists', _details(rtype, name))


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def conflict(rtype, name, why=MODIFIED):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(rtype)} "{name}": {why}',
                    _details(rtype, name))


def invalid(rtype, name, causes):
    """causes: list of (field, message) where message is already in Kubernetes' wording."""
    text = ", ".join(f"{field}: {msg}" for field, msg in causes)
    if len(causes) > 1:
        text = "[" + text + "]"
    details = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.kind
    return ApiError(422, "Invalid", f'{rtype.kind}.{rtype.group or ""}'.rstrip(".") + f' "{name}" is invalid: {text}',
                    details, [{"reason": _cause_reason(msg), "message": msg, "field": field} for field, msg in causes])


def resource_version_required(rtype, name):
    """A PUT without metadata.resourceVersion on a kind whose strategy disallows unconditional updates
    (the generic registry's message, with the resource as the "kind" and the uint64 zero as Go's %#v)."""
    msg = "Invalid value: 0x0: must be specified for an update"
    return ApiError(422, "Invalid", f'{_qualified(rtype)} "{name}" is invalid: metadata.resourceVersion: {msg}',
                    _details(rtype, name), [{"reason": "FieldValueInvalid", "message": msg,
                                              "field": "metadata.resourceVersion"}])


def cannot_decode(rtype, why):
    """A body the kind's Go type cannot hold (create and update decode it before anything else)."""
    return ApiError(400, "BadRequest", f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                                       f"{rtype.kind}: {why}")


def invalid_patch(shown, why):
    """A patch whose result the kind's Go type cannot hold: NewInvalid with an empty GroupKind and name."""
    msg = f"Invalid value: {shown}: {why}"
    return ApiError(422, "Invalid", f' "" is invalid: patch: {msg}', {},
                    [{"reason": "FieldValueInvalid", "message": msg, "field": "patch"}])


def _cause_reason(msg):
    if msg.startswith("Required value"):
        return "FieldValueRequired"
    if msg.startswith("Unsupported value"):
        return "FieldValueNotSupported"
    if msg.startswith("Forbidden"):
        return "FieldValueForbidden"
    return "FieldValueInvalid"


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media(content_type):
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media "
                    "types include: application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml, application/strategic-merge-patch+json")


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message):
    return ApiError(410, "Expired", message)
