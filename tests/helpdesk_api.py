"""Records in the shapes the helpdesk vendors document for their APIs (Zendesk incremental ticket export with
the metric_sets sideload, Freshdesk API v2 tickets with include=stats, Intercom conversations), for the mapping
tests and the pull tests' local server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp())


def zendesk_ticket(
    tid: int,
    status: str,
    *,
    updated: str = "2026-10-03T10:00:00Z",
    created: str = "2026-10-01T09:00:00Z",
    requester: int | None = 100,
    assignee: int | None = 7,
    channel: str = "email",
) -> dict[str, Any]:
    return {
        "url": f"https://acme.zendesk.com/api/v2/tickets/{tid}.json",
        "id": tid,
        "subject": f"Ticket {tid}",
        "requester_id": requester,
        "assignee_id": assignee,
        "group_id": 360001,
        "status": status,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": created,
        "updated_at": updated,
        "generated_timestamp": unix(updated),
        "satisfaction_rating": {"score": "unoffered"},
    }


def zendesk_metrics(tid: int, solved_at: str | None, *, reopens: int = 0) -> dict[str, Any]:
    return {
        "id": 9000 + tid,
        "ticket_id": tid,
        "reopens": reopens,
        "solved_at": solved_at,
        "reply_time_in_minutes": {"business": None, "calendar": 10},
        "full_resolution_time_in_minutes": {"business": None, "calendar": 30 if solved_at else None},
    }


def freshdesk_ticket(
    tid: int,
    status: int,
    *,
    updated: str = "2026-10-03T10:00:00Z",
    created: str = "2026-10-01T09:00:00Z",
    source: int = 1,
    responder: int | None = 77,
    resolved_at: str | None = None,
    closed_at: str | None = None,
    reopened_at: str | None = None,
    first_responded_at: str | None = "2026-10-01T09:15:00Z",
    stats: bool = True,
    spam: bool = False,
) -> dict[str, Any]:
    t: dict[str, Any] = {
        "id": tid,
        "subject": f"Ticket {tid}",
        "requester_id": 5000 + tid % 3,
        "responder_id": responder,
        "group_id": 42,
        "company_id": None,
        "status": status,
        "priority": 1,
        "source": source,
        "type": "Question",
        "spam": spam,
        "fr_escalated": False,
        "is_escalated": False,
        "tags": [],
        "custom_fields": {},
        "due_by": "2026-10-04T09:00:00Z",
        "fr_due_by": "2026-10-02T09:00:00Z",
        "created_at": created,
        "updated_at": updated,
    }
    if stats:
        t["stats"] = {
            "agent_responded_at": first_responded_at,
            "requester_responded_at": None,
            "first_responded_at": first_responded_at,
            "status_updated_at": updated,
            "reopened_at": reopened_at,
            "resolved_at": resolved_at,
            "closed_at": closed_at,
            "pending_since": None,
        }
    return t


def intercom_conversation(
    cid: str,
    state: str,
    *,
    created: str = "2026-10-01T09:00:00Z",
    updated: str = "2026-10-03T10:00:00Z",
    last_close: str | None = None,
    first_reply: str | None = "2026-10-01T09:05:00Z",
    reopens: int = 0,
    rating: int | None = None,
    fin: str | None = None,
    admin: int | None = 814860,
    source: str = "conversation",
    contact: str | None = "6329bd9ffe4e5bbfa8d9c3a2",
) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": cid,
        "title": None,
        "created_at": unix(created),
        "updated_at": unix(updated),
        "waiting_since": None,
        "snoozed_until": None,
        "open": state != "closed",
        "state": state,
        "read": True,
        "priority": "not_priority",
        "admin_assignee_id": admin,
        "team_assignee_id": 5017691 if admin else None,
        "tags": {"type": "tag.list", "tags": []},
        "conversation_rating": None if rating is None else {"rating": rating, "remark": "", "created_at": unix(updated)},
        "source": {
            "type": source,
            "id": "403918396",
            "delivered_as": "customer_initiated",
            "author": {"type": "user", "id": contact},
        },
        "contacts": {
            "type": "contact.list",
            "contacts": [] if contact is None else [{"type": "contact", "id": contact, "external_id": "70"}],
        },
        "statistics": {
            "type": "conversation_statistics",
            "time_to_assignment": 0,
            "time_to_admin_reply": 300,
            "first_contact_reply_at": unix(created),
            "first_admin_reply_at": None if first_reply is None else unix(first_reply),
            "first_close_at": None if last_close is None else unix(last_close),
            "last_close_at": None if last_close is None else unix(last_close),
            "last_closed_by_id": admin if last_close else None,
            "count_reopens": reopens,
            "count_assignments": 1,
            "count_conversation_parts": 4,
        },
        "ai_agent_participated": fin is not None,
        "ai_agent": None if fin is None else {"source_type": "essentials_plan_setup", "resolution_state": fin},
    }


def intercom_page(conversations: list[dict[str, Any]], *, next_cursor: str | None, page: int = 1) -> dict[str, Any]:
    pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": len(conversations), "total_pages": None}
    if next_cursor is not None:
        pages["next"] = {"page": page + 1, "starting_after": next_cursor}
    return {"type": "conversation.list", "conversations": conversations, "total_count": None, "pages": pages}
