"""A Slack incoming webhook: answers what hooks.slack.com answers.

200 `ok` (text/plain) on success; 400 `invalid_payload` (not JSON), `no_text` (neither text,
blocks nor attachments), `invalid_blocks_format` (blocks not a list), `invalid_blocks` (a
block Slack would reject); 403 `invalid_token`; 404 `no_service`.
"""
import json
from urllib.parse import parse_qs

from aiohttp import web

BLOCK_TYPES = {"section", "divider", "header", "context", "actions", "image", "rich_text", "input", "file",
               "video", "markdown"}
TEXT_TYPES = {"plain_text", "mrkdwn"}
MAX_BLOCKS = 50


def answer(status, text):
    return web.Response(status=status, text=text, content_type="text/plain")


def _text_object_ok(obj, plain_only=False):
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        return False
    if plain_only and obj["type"] != "plain_text":
        return False
    return isinstance(obj.get("text"), str) and obj["text"] != ""


def block_ok(block):
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return False
    kind = block["type"]
    if kind == "section":
        fields = block.get("fields")
        has_fields = isinstance(fields, list) and fields and all(_text_object_ok(f) for f in fields)
        return _text_object_ok(block["text"]) if "text" in block else bool(has_fields)
    if kind == "header":
        return _text_object_ok(block.get("text"), plain_only=True)
    if kind == "context":
        elements = block.get("elements")
        return isinstance(elements, list) and bool(elements)
    if kind == "markdown":
        return isinstance(block.get("text"), str) and block["text"] != ""
    return True


def validate(payload):
    """The error Slack answers for this payload, or None when it would be posted."""
    if not isinstance(payload, dict):
        return "invalid_payload"
    blocks = payload.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            return "invalid_blocks_format"
        if len(blocks) > MAX_BLOCKS or not all(block_ok(b) for b in blocks):
            return "invalid_blocks"
    text = payload.get("text")
    if text is not None and not isinstance(text, str):
        return "invalid_payload"
    if not (text or blocks or payload.get("attachments")):
        return "no_text"
    return None


async def _payload(request):
    raw = await request.text()
    # Like hooks.slack.com: a form field `payload=<json>`, or the JSON document as the body.
    if request.content_type == "application/x-www-form-urlencoded" and raw.startswith("payload="):
        raw = (parse_qs(raw).get("payload") or [""])[0]
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def webhook(request):
    hook = request.app["slack"]
    if (request.match_info["team"], request.match_info["bot"]) != (hook["team"], hook["bot"]):
        return answer(404, "no_service")
    if request.match_info["token"] != hook["token"]:
        return answer(403, "invalid_token")
    problem = validate(await _payload(request))
    if problem:
        return answer(400, problem)
    return answer(200, "ok")


def add_routes(app):
    app.router.add_post("/slack/services/{team}/{bot}/{token}", webhook)
