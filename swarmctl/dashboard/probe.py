"""The script the dashboard runs on a manager, over SSH, with the host's own python3 (stdlib only).

It asks the local engine (its unix socket) for nodes, services and tasks, and the reconciler for its
status, and prints one JSON object.
"""

PROBE = r'''
import http.client, json, socket, urllib.request

class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect("/var/run/docker.sock")

def get(path):
    conn = Unix("localhost", timeout=10)
    conn.request("GET", path, headers={"Host": "docker"})
    response = conn.getresponse()
    data = json.loads(response.read() or b"null")
    if response.status >= 400:
        raise SystemExit(json.dumps({"error": (data or {}).get("message", str(response.status))}))
    return data

nodes = get("/nodes")
services = get("/services")
tasks = get("/tasks")
try:
    with urllib.request.urlopen("http://127.0.0.1:9610/status", timeout=2) as r:
        reconciler = json.loads(r.read())
except Exception as exc:
    reconciler = {"error": str(exc)}
names = {s["ID"]: s["Spec"]["Name"] for s in services}
out = {
    "nodes": [{
        "id": n["ID"], "hostname": n["Description"]["Hostname"], "role": n["Spec"]["Role"],
        "availability": n["Spec"]["Availability"], "state": n["Status"]["State"],
        "addr": n["Status"].get("Addr", ""),
        "leader": bool((n.get("ManagerStatus") or {}).get("Leader")),
        "reachability": (n.get("ManagerStatus") or {}).get("Reachability", ""),
    } for n in nodes],
    "services": [{
        "name": s["Spec"]["Name"],
        "image": s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
        "mode": "global" if "Global" in s["Spec"].get("Mode", {}) else "replicated",
        "replicas": s["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas"),
        "update_state": (s.get("UpdateStatus") or {}).get("State", ""),
    } for s in services],
    "tasks": [{
        "id": t["ID"], "service": names.get(t["ServiceID"], t["ServiceID"][:10]), "slot": t.get("Slot"),
        "node_id": t.get("NodeID", ""), "state": t["Status"]["State"], "desired": t["DesiredState"],
        "image": t["Spec"]["ContainerSpec"]["Image"].split("@")[0], "updated": t.get("UpdatedAt", ""),
        "error": t["Status"].get("Err", ""),
    } for t in tasks if t["DesiredState"] == "running" or t["Status"]["State"] in ("running", "starting")],
    "reconciler": {k: reconciler.get(k) for k in ("leader_host", "dry_run", "last_resync", "error")}
                  | {"actions": (reconciler.get("actions") or [])[-10:]},
}
print(json.dumps(out))
'''
