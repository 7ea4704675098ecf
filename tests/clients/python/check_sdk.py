"""The community Python SDK (`pocketbase` on PyPI) used the way an app
uses it, against the server at CLIENT_BASE_URL: superuser and user
sign-in, a collection made through the SDK, create/read/update/delete,
filter, sort and expand, a file upload and its download, and a realtime
subscription that hears a create. Run by tests/clients/run.sh against
Cairn and against PocketBase 0.40.6; exits non-zero on the first
disagreement with what PocketBase does."""

import os
import queue
import sys
import time

import httpx
from pocketbase import PocketBase
from pocketbase.client import FileUpload

base = os.environ["CLIENT_BASE_URL"]
email = os.environ["CLIENT_ADMIN_EMAIL"]
password = os.environ["CLIENT_ADMIN_PASSWORD"]


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


pb = PocketBase(base)
admin = pb.collection("_superusers").auth_with_password(email, password)
check(pb.auth_store.token and admin.record.email == email, "superuser signs in")

suffix = str(int(time.time() * 1000) % 100000)
owners = pb.collections.create(
    {"name": f"py_owners_{suffix}", "type": "base", "listRule": "", "viewRule": "",
     "fields": [{"name": "name", "type": "text"}]}
)
items = pb.collections.create(
    {"name": f"py_items_{suffix}", "type": "base",
     "listRule": "@request.auth.id != ''", "viewRule": "@request.auth.id != ''",
     "createRule": "@request.auth.id != ''", "updateRule": "@request.auth.id != ''",
     "deleteRule": "@request.auth.id != ''",
     "fields": [
         {"name": "title", "type": "text", "required": True},
         {"name": "rank", "type": "number"},
         {"name": "owner", "type": "relation", "collectionId": owners.id, "maxSelect": 1},
         {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1000000},
     ]}
)
check(items.name == f"py_items_{suffix}", "a collection is created through the SDK")

ada = pb.collection(owners.id).create({"name": "Ada"})
user_email = f"py{suffix}@example.com"
pb.collection("users").create(
    {"email": user_email, "password": "py-pass-1234", "passwordConfirm": "py-pass-1234"}
)

# A user, in a client of its own.
user = PocketBase(base)
auth = user.collection("users").auth_with_password(user_email, "py-pass-1234")
check(auth.record.email == user_email, "a user signs in")
refreshed = user.collection("users").auth_refresh()
check(refreshed.token, "the user's token refreshes")

# Guests are filtered out by the rule; the user sees the records.
coll = user.collection(items.name)
for title, rank in [("b", 2), ("a", 1), ("c", 3)]:
    coll.create({"title": title, "rank": rank, "owner": ada.id})
guest = PocketBase(base).collection(items.name).get_list(1, 10)
check(guest.total_items == 0, "a guest sees no record through the list rule")
listed = coll.get_list(1, 10, {"sort": "-rank", "filter": "rank >= 2", "expand": "owner"})
check([r.title for r in listed.items] == ["c", "b"], "filter and sort")
check(listed.total_items == 2, "totalItems")
check(listed.items[0].expand["owner"].name == "Ada", "expand")
full = coll.get_full_list(query_params={"sort": "title"})
check([r.title for r in full] == ["a", "b", "c"], "the full list")
first = coll.get_first_list_item('title = "a"')
check(first.rank == 1, "the first matching item")

# Update and delete; a missing record is a 404 the SDK raises.
updated = coll.update(first.id, {"rank": 10})
check(updated.rank == 10, "update")
coll.delete(first.id)
try:
    coll.get_one(first.id)
    check(False, "a deleted record is gone")
except Exception as e:  # ClientResponseError
    check(getattr(e, "status", None) == 404, "a deleted record is gone (404)")

# A validation error comes back with the field named.
try:
    coll.create({"rank": 1})
    check(False, "a required field is enforced")
except Exception as e:
    data = getattr(e, "data", {}) or {}
    check(getattr(e, "status", None) == 400 and "title" in data.get("data", {}),
          "a missing required field is a 400 naming it")

# A file upload, and its download through the SDK's URL.
with_file = coll.create(
    {"title": "file", "doc": FileUpload(("notes.txt", b"hello from python", "text/plain"))}
)
check(with_file.doc.startswith("notes") and with_file.doc.endswith(".txt"), "a file uploads")
url = user.files.get_url(with_file, with_file.doc, {})
got = httpx.get(url)
check(got.status_code == 200 and got.content == b"hello from python", "the file downloads")

# Realtime: a subscription hears a create.
# The SDK sends the subscription from its event thread once the server's
# PB_CONNECT arrives, and says nothing when that is done; a create made
# before then is rightly not heard. So a create is made each second until
# one is heard, for at most 20 s (a slow machine took over a second).
heard = queue.Queue()
coll.subscribe(lambda e: heard.put((e.action, e.record.title)))
action, title = None, None
deadline = time.monotonic() + 20
while action is None and time.monotonic() < deadline:
    pb.collection(items.name).create({"title": "live", "rank": 7})
    try:
        action, title = heard.get(timeout=1.0)
    except queue.Empty:
        pass
check((action, title) == ("create", "live"), "a realtime subscription hears a create")
coll.unsubscribe()

pb.collections.delete(items.id)
pb.collections.delete(owners.id)
print("python SDK: all checks passed")
