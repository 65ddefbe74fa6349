// Polls /api/state and redraws: one column per node, one card per task, colored by service and image
// tag, so versions tell apart during a rolling update; no reload needed.
"use strict";

function color(key) {
  let h = 0;
  for (const c of key) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h}, 55%, 42%)`;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function tag(image) { return image.includes(":") ? image.split(":").pop() : "latest"; }

function render(state) {
  document.getElementById("updated").textContent =
    state.error ? "" : `from ${state.source} at ${state.time}`;
  const summary = document.getElementById("summary");
  if (state.error) {
    summary.textContent = state.error;
    summary.className = "error";
    return;
  }
  summary.className = "";
  const running = state.tasks.filter(t => t.state === "running").length;
  summary.textContent = `${state.nodes.length} nodes, ${state.services.length} services, ${running} tasks running`;

  const services = document.getElementById("services");
  services.replaceChildren(...state.services.map(s => {
    const n = state.tasks.filter(t => t.service === s.name && t.state === "running").length;
    const wanted = s.mode === "global" ? "global" : s.wanted;
    return el("span", {class: "service", style: `border-left-color: ${color(s.name + ":" + tag(s.image))}`,
                       "data-service": s.name},
              `${s.name} ${n}/${wanted} ${s.image}${s.update_state ? " (" + s.update_state + ")" : ""}`);
  }));

  const nodes = document.getElementById("nodes");
  const sorted = [...state.nodes].sort((a, b) => a.hostname.localeCompare(b.hostname));
  nodes.replaceChildren(...sorted.map(n => {
    const tasks = state.tasks.filter(t => t.node_id === n.id)
      .sort((a, b) => (a.service + a.slot).localeCompare(b.service + b.slot));
    const classes = ["node", n.state === "ready" ? "up" : "down", n.leader ? "leader" : ""].join(" ");
    return el("div", {class: classes, "data-node": n.hostname},
      el("h2", {}, n.hostname),
      el("div", {class: "meta"}, `${n.role}${n.reachability ? " (" + n.reachability + ")" : ""} · ${n.state} · ${n.availability}`),
      el("div", {class: "tasks"}, ...tasks.map(t =>
        el("div", {class: `task ${t.state}`, style: `background: ${color(t.service + ":" + tag(t.image))}`,
                   "data-task": t.id, "data-service": t.service, "data-version": tag(t.image), title: t.error || ""},
           `${t.service}${t.slot ? "." + t.slot : ""} ${tag(t.image)}`, el("span", {class: "state"}, t.state)))));
  }));

  const reconciler = state.reconciler || {};
  const actions = reconciler.actions || [];
  const list = document.getElementById("action-list");
  if (reconciler.error) {
    list.replaceChildren(el("li", {class: "error"}, `not answering on ${state.source}: ${reconciler.error}`));
  } else if (!actions.length) {
    list.replaceChildren(el("li", {}, `no actions yet (leader: ${reconciler.leader_host || "?"}${reconciler.dry_run ? ", dry run" : ""})`));
  } else {
    list.replaceChildren(...actions.slice().reverse().map(a =>
      el("li", {}, `${a.time || ""} ${a.action} ${a.target}: ${a.why} → ${a.result || ""}`)));
  }
}

async function poll() {
  try {
    const response = await fetch("/api/state", {cache: "no-store"});
    render(await response.json());
  } catch (err) {
    render({error: `dashboard server unreachable: ${err}`});
  }
  setTimeout(poll, 1000);
}

poll();
