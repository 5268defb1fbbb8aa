"""Building blocks of the OpenAPI description: JSON Schema pieces, parameters and the
answers many operations share."""

from __future__ import annotations

from typing import Any

from .params import MAX_PER_PAGE

STRING: dict[str, Any] = {"type": "string"}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
DATE: dict[str, Any] = {"type": "string", "format": "date"}
DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], doc: str | None = None, /, **properties: Any) -> dict:
    """An object schema with these ``properties``, ``required`` ones and ``doc``."""
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if doc:
        schema["description"] = doc
    return schema


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def page_of(item: dict) -> dict:
    return {"allOf": [ref("Page"), obj(["contents"], contents=array(item))]}


def page_with_cursor(item: dict, always: bool = True) -> dict:
    """A page that names where the next one starts (unless not ``always``: then only
    when the list is in an order a cursor can continue)."""
    next_cursor = {
        **nullable(STRING),
        "description": "Send as cursor for the next page; null on the last page.",
    }
    required = ["next_cursor"] if always else []
    return {"allOf": [page_of(item), obj(required, next_cursor=next_cursor)]}


JSON = "application/json"
PROBLEM = "application/problem+json"
NDJSON = "application/x-ndjson"


def query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path_id(description: str) -> dict:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": STRING,
        "description": description,
    }


def problem(description: str, headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM: {"schema": ref("Problem")}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def ok(schema: dict, description: str = "OK", ndjson: bool = False) -> dict:
    content: dict[str, Any] = {JSON: {"schema": schema}}
    if ndjson:
        content[NDJSON] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def paging(max_per_page: int = MAX_PER_PAGE, per_page: str | None = None) -> list[dict]:
    """``page``, ``per_page`` (at most ``max_per_page``; described as ``per_page`` says)
    and ``format``."""
    return [
        query("page", {"type": "integer", "minimum": 1, "maximum": 10**6}, "Page number, from 1."),
        query(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": max_per_page},
            per_page or f"Items a page, at most {max_per_page:,}.",
        ),
        query(
            "format",
            {"type": "string", "enum": ["json", "ndjson"]},
            "ndjson: every item, one JSON object a line, without pagination.",
        ),
    ]


PAGING = paging()
BAD_QUERY = problem("A query parameter is not valid: errors names it.")
NOT_FOUND = problem("No such record (or, for referrals, none this system may see).")
TOO_MANY = problem(
    "Too many requests from this address: DIRECTORY_API_RATE_LIMIT for pages, "
    "EXPORT_RATE_LIMIT for a whole list at once (format=ndjson, or full_service)."
)
UNAUTHORISED = problem(
    "No token, or one that is not recognised or was revoked.",
    {"WWW-Authenticate": {"schema": STRING, "description": 'Bearer realm="referrals"'}},
)
FORBIDDEN = problem("The system's role may not do this.")
INVALID = problem("The request failed its checks: errors gives a message per field.")
SECURED = [{"bearerToken": []}]


def get(
    summary: str, operation: str, responses: dict, parameters: list | None = None, **extra
) -> dict:
    op = {"summary": summary, "operationId": operation, "responses": responses, **extra}
    if parameters:
        op["parameters"] = parameters
    return {"get": op}
