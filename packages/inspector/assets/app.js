// The Troupe inspector's page. Plain JavaScript, no dependencies: it keeps a copy of the inspector's state live
// over Server-Sent Events (a `reset`, then `patch` batches; see View.ts) and draws the view the URL names.

/** @typedef {{ op: "set" | "push" | "delete", path: string[], value?: unknown, max?: number }} Patch */

let state = { self: "", actions: false, nodes: {} }
let connected = false

// ---------------------------------------------------------------------------------------------------------
// The token (actions) and the person's name

const TOKEN_KEY = "troupe-inspector-token"
const WHO_KEY = "troupe-inspector-who"
{
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash)
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]))
    history.replaceState(null, "", `${location.pathname}${location.search}#/cluster`)
  }
}
const token = () => sessionStorage.getItem(TOKEN_KEY)
const who = () => localStorage.getItem(WHO_KEY) || "a person"
const whoInput = document.getElementById("who")
whoInput.value = localStorage.getItem(WHO_KEY) || ""
whoInput.placeholder = "a person"
whoInput.addEventListener("change", () => localStorage.setItem(WHO_KEY, whoInput.value.trim()))
const canAct = () => state.actions && token() !== null

/** Asks the inspector to act; answers the result text, or throws an Error with what went wrong. */
async function act(action) {
  const response = await fetch("api/act", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token() ?? ""}` },
    body: JSON.stringify(action)
  })
  const body = await response.json().catch(() => ({ error: response.statusText }))
  if (!response.ok) throw new Error(body.error || response.statusText)
  return body.result
}

// ---------------------------------------------------------------------------------------------------------
// The live state

/** Applies a patch in place (the same as View.apply on the server). */
function apply(target, patch) {
  const path = patch.path
  let node = target
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof node[path[i]] !== "object" || node[path[i]] === null) node[path[i]] = {}
    node = node[path[i]]
  }
  const last = path[path.length - 1]
  if (patch.op === "set") node[last] = patch.value
  else if (patch.op === "delete") delete node[last]
  else {
    if (!Array.isArray(node[last])) node[last] = []
    node[last].push(patch.value)
    if (patch.max !== undefined && node[last].length > patch.max) node[last].splice(0, node[last].length - patch.max)
  }
}

/** Follows the state: a `reset`, then numbered patches; a gap (the page fell behind) starts it again. */
function connect() {
  const events = new EventSource("api/events")
  let last = 0
  events.addEventListener("reset", (e) => {
    state = JSON.parse(e.data)
    last = Number(e.lastEventId)
    connected = true
    render()
  })
  events.addEventListener("patch", (e) => {
    if (Number(e.lastEventId) !== last + 1) {
      events.close()
      connect()
      return
    }
    last++
    for (const patch of JSON.parse(e.data)) apply(state, patch)
    render()
  })
  events.addEventListener("error", () => {
    connected = false
    renderHeader()
  })
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

/** Makes an element: `h("div.note.k-crash", { title: "x" }, child, "text")`. */
function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".")
  const el = document.createElement(tag || "div")
  if (classes.length > 0) el.className = classes.join(" ")
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value)
    else if (key === "style") el.setAttribute("style", value)
    else if (key in el && key !== "list") el[key] = value
    else el.setAttribute(key, value === true ? "" : String(value))
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) el.append(child)
  return el
}

const time = (at) => {
  if (!at) return ""
  const d = new Date(at)
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`
}
const ago = (at) => {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000))
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
}
const money = (usd) => `$${(usd ?? 0).toFixed(usd !== undefined && usd < 0.01 ? 5 : 4)}`
const parts = () =>
  Object.values(state.nodes).sort((a, b) =>
    a.node === state.self ? -1 : b.node === state.self ? 1 : a.node.localeCompare(b.node)
  )
const query = () => document.getElementById("search").value.trim().toLowerCase()
const matches = (...texts) => {
  const q = query()
  return (
    q === "" ||
    texts.some((t) =>
      String(t ?? "")
        .toLowerCase()
        .includes(q)
    )
  )
}
const pretty = (jsonText) => {
  try {
    return JSON.stringify(JSON.parse(jsonText), null, 2)
  } catch {
    return jsonText
  }
}
/** A payload inline when short, folded when long. */
function payloadView(label, payload) {
  if (payload === undefined || payload === "null" || payload === "") return h("span", {}, `${label}()`)
  if (payload.length <= 60) return h("span", {}, `${label}(`, h("code", {}, payload), ")")
  const key = `payload:${label}:${payload.length}:${payload.slice(0, 40)}`
  return h(
    "details",
    { "data-fold": key, open: openFolds.has(key), ontoggle: (e) => toggleFold(key, e.target.open) },
    h("summary", {}, `${label}(`, h("code", {}, `${payload.slice(0, 48)}…`), ")"),
    h("pre", {}, pretty(payload))
  )
}
const openFolds = new Set()
const toggleFold = (key, open) => (open ? openFolds.add(key) : openFolds.delete(key))

// ---------------------------------------------------------------------------------------------------------
// Routing and rendering

const route = () => {
  const [, tab = "cluster", ...rest] = location.hash.replace(/^#/, "").split("/")
  return { tab, arg: rest.map(decodeURIComponent).join("/") }
}

let scheduled = false
function render() {
  if (scheduled) return
  scheduled = true
  requestAnimationFrame(() => {
    scheduled = false
    renderHeader()
    const { tab, arg } = route()
    const main = document.getElementById("main")
    const view = views[tab] ?? views.cluster
    view(main, arg)
  })
}

function renderHeader() {
  document.getElementById("self").textContent = state.self ? `node ${state.self}` : ""
  const live = document.getElementById("live")
  live.textContent = connected ? "live" : "reconnecting…"
  live.className = `badge ${connected ? "on" : "off"}`
  const mode = document.getElementById("mode")
  mode.textContent = canAct()
    ? "actions enabled"
    : state.actions
      ? "read-only (open the URL with the token)"
      : "read-only"
  const { tab } = route()
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.dataset.tab === tab)
  const questions = parts().reduce((n, p) => n + Object.keys(p.questions ?? {}).length, 0)
  document.getElementById("people-count").textContent = questions > 0 ? String(questions) : ""
  const dead = parts().reduce((n, p) => n + (p.deadLetters?.length ?? 0), 0)
  document.getElementById("dead-count").textContent = dead > 0 ? String(dead) : ""
}

/** Replaces the children of `el` only when `key` changed, so that open details and forms survive. */
function keep(el, key, make) {
  if (el.dataset.key === key) return
  el.dataset.key = key
  el.replaceChildren(...[make()].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false))
}

/** Renders a keyed list into `container`: an item is drawn again only when its version changes. */
function keyed(container, items, keyOf, versionOf, draw) {
  const existing = new Map([...container.children].map((el) => [el.dataset.key, el]))
  let previous = null
  for (const item of items) {
    const key = keyOf(item)
    const version = versionOf(item)
    let el = existing.get(key)
    if (el === undefined || el.dataset.version !== version) {
      const fresh = draw(item)
      fresh.dataset.key = key
      fresh.dataset.version = version
      if (el !== undefined) el.replaceWith(fresh)
      el = fresh
    }
    existing.delete(key)
    const at = previous === null ? container.firstChild : previous.nextSibling
    if (at !== el) container.insertBefore(el, at)
    previous = el
  }
  for (const el of existing.values()) el.remove()
}

/** A view's root element inside main, made once per view. */
function root(main, name) {
  let el = main.querySelector(`:scope > [data-view="${name}"]`)
  if (el === null) {
    el = h("div", { "data-view": name })
    main.replaceChildren(el)
  }
  return el
}

// ---------------------------------------------------------------------------------------------------------
// Cluster

function clusterView(main) {
  const el = root(main, "cluster")
  const list = el.querySelector(".cards") ?? el.appendChild(h("div.cards"))
  const shown = parts().filter((p) => matches(p.node, p.info?.address))
  keyed(
    list,
    shown,
    (p) => p.node,
    (p) =>
      JSON.stringify([
        p.info,
        p.reachable,
        p.inspected,
        p.actors.length,
        Object.keys(p.sessions).length,
        p.deadLetters.length
      ]),
    nodeCard
  )
  if (shown.length === 0) list.replaceChildren(h("p.empty", {}, "No node matches."))
}

function nodeCard(p) {
  const info = p.info
  const running = Object.values(p.sessions).filter((s) => s.started && !s.ended).length
  return h(
    `div.card.node${p.reachable ? "" : ".down"}`,
    { "data-node": p.node },
    h(
      "h3",
      {},
      p.node,
      h(`span.status.${p.reachable ? "up" : "down"}`, {}, p.reachable ? "up" : "unreachable"),
      p.node === state.self ? h("span.muted", {}, "this node") : null,
      p.inspected ? null : h("span.muted", {}, "no inspector there")
    ),
    h(
      "dl.kv",
      {},
      h("dt", {}, "address"),
      h("dd.mono", {}, info?.address ?? "in process"),
      h("dt", {}, "actors"),
      h("dd", {}, `${info?.stats.actors ?? p.actors.length} (${info?.stats.running ?? 0} running)`),
      h("dt", {}, "sessions"),
      h("dd", {}, `${running} running, ${Object.keys(p.sessions).length} seen`),
      h("dt", {}, "dead letters"),
      h("dd", {}, String(info?.stats.deadLetters ?? p.deadLetters.length)),
      info?.wire
        ? [
            h("dt", {}, "wire"),
            h(
              "dd",
              {},
              `${info.wire.badFrames} bad frames, ${info.wire.refused} refused, ${info.wire.resent} resent, ${info.wire.duplicates} duplicates`
            )
          ]
        : null
    ),
    h("h4", {}, "Links"),
    (info?.links ?? []).length === 0
      ? h("p.muted", {}, "no links")
      : h(
          "table.links",
          {},
          h(
            "tr",
            {},
            h("th", {}, "to"),
            h("th", {}, "state"),
            h("th", {}, "unacked"),
            h("th", {}, "waiting"),
            h("th", {}, "received")
          ),
          info.links.map((l) =>
            h(
              "tr",
              { "data-link": l.node },
              h("td", {}, l.node),
              h(
                "td",
                {},
                h(`span.status.${l.connected ? "up" : "down"}`, {}, l.connected ? "connected" : "reconnecting")
              ),
              h("td", {}, String(l.unacknowledged)),
              h("td", {}, String(l.waiting)),
              h("td", {}, String(l.received))
            )
          )
        )
  )
}

// ---------------------------------------------------------------------------------------------------------
// Actors

let actorStatus = "all"

function actorsView(main) {
  const el = root(main, "actors")
  if (!el.querySelector(".toolbar")) {
    el.append(
      h(
        "div.toolbar",
        {},
        ...["all", "running", "idle", "failed", "restarting"].map((s) =>
          h(
            `button.chip${s === actorStatus ? ".on" : ""}`,
            {
              "data-filter": s,
              onclick: () => {
                actorStatus = s
                for (const b of el.querySelectorAll(".toolbar .chip")) b.classList.toggle("on", b.dataset.filter === s)
                render()
              }
            },
            s
          )
        )
      ),
      h("div.nodes")
    )
  }
  const nodes = el.querySelector(".nodes")
  keyed(
    nodes,
    parts(),
    (p) => p.node,
    (p) => JSON.stringify([p.actors, p.reachable, actorStatus, query(), canAct()]),
    actorTree
  )
}

function actorTree(p) {
  const actors = p.actors.filter(
    (a) => (actorStatus === "all" || a.status === actorStatus) && matches(a.path, a.protocol, a.lastFailure?.message)
  )
  return h(
    "section.tree",
    { "data-node": p.node },
    h(
      "h2",
      {},
      `${p.node} `,
      h("span.muted", {}, `${p.actors.length} actors${p.reachable ? "" : " (unreachable: last known)"}`)
    ),
    h(
      "div.actor.head",
      {},
      h("span", {}, "actor"),
      h("span", {}, "protocol"),
      h("span", {}, "state"),
      h("span", {}, "mailbox"),
      h("span", {}, "restarts"),
      h("span", {}, "last failure"),
      h("span", {})
    ),
    actors.length === 0 ? h("p.empty", {}, p.inspected ? "No actor matches." : "This node runs no inspector.") : null,
    actors.map((a) => {
      const depth = a.path.split("/").length - 3
      const fill = a.capacity > 0 ? Math.min(100, (100 * a.mailbox) / a.capacity) : 0
      return h(
        "div.actor",
        { "data-path": a.path, "data-status": a.status },
        h("span.name.mono", { title: a.path, style: `padding-left:${depth * 18}px` }, depth > 0 ? "└ " : "", a.name),
        h("span.muted", {}, a.protocol),
        h(`span.status.${a.status}`, {}, a.status),
        h(
          "span",
          { title: `${a.mailbox} waiting of ${a.capacity}` },
          h(`span.bar${fill > 75 ? ".hot" : ""}`, {}, h("i", { style: `width:${fill}%` })),
          ` ${a.mailbox}`
        ),
        h("span", { "data-restarts": a.restarts }, String(a.restarts)),
        a.lastFailure
          ? h(
              "details.failure",
              {},
              h("summary", {}, `${a.lastFailure.message} (${ago(a.lastFailure.at)})`),
              h("pre", {}, a.lastFailure.cause)
            )
          : h("span.muted", {}, "—"),
        canAct() && p.inspected && p.reachable
          ? h(
              "button.danger",
              { title: "Stop this actor (and its children)", onclick: (e) => stopActor(e, p.node, a.path) },
              "stop"
            )
          : h("span")
      )
    })
  )
}

async function stopActor(event, node, path) {
  if (!confirm(`Stop ${path} on ${node}?`)) return
  event.target.disabled = true
  try {
    await act({ kind: "stop", node, path })
  } catch (error) {
    alert(error.message)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sessions

let sessionFilter = "all"

/** Every session, merged from the nodes' parts. */
function sessions() {
  const merged = new Map()
  for (const p of parts()) {
    for (const s of Object.values(p.sessions)) {
      const m = merged.get(s.id) ?? { id: s.id, protocol: s.protocol, entries: 0, nodes: [] }
      m.entries += s.entries.length
      m.nodes.push(p.node)
      if (s.started) Object.assign(m, { started: s.started, roles: s.roles, node: p.node })
      if (s.ended) Object.assign(m, { ended: s.ended, outcome: s.outcome, cause: s.cause })
      m.first = Math.min(m.first ?? Infinity, s.started ?? Infinity, s.entries[0]?.at ?? Infinity)
      merged.set(s.id, m)
    }
  }
  return [...merged.values()]
}

/** The entries of a session from every node, in time order. */
function entriesOf(id) {
  const out = []
  for (const p of parts()) {
    const list = p.sessions[id]?.entries ?? []
    for (let i = 0; i < list.length; i++) out.push({ ...list[i], node: p.node, i })
  }
  return out.sort((a, b) => a.at - b.at || (a.node === b.node ? a.i - b.i : 0))
}

const outcomeOf = (s) => (s.ended ? s.outcome : s.started ? "running" : "starting")

function sessionsView(main, arg) {
  if (arg) return sessionView(main, arg)
  const el = root(main, "sessions")
  if (!el.querySelector(".toolbar")) {
    el.append(
      h(
        "div.toolbar",
        {},
        ...["all", "running", "completed", "aborted"].map((f) =>
          h(
            `button.chip${f === sessionFilter ? ".on" : ""}`,
            {
              "data-filter": f,
              onclick: () => {
                sessionFilter = f
                for (const b of el.querySelectorAll(".toolbar .chip")) b.classList.toggle("on", b.dataset.filter === f)
                render()
              }
            },
            f
          )
        )
      ),
      h(
        "table.session-list",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["session", "protocol", "state", "roles", "steps", "started", "nodes"].map((t) => h("th", {}, t))
          )
        ),
        h("tbody")
      )
    )
  }
  const list = sessions()
    .filter((s) => sessionFilter === "all" || outcomeOf(s) === sessionFilter)
    .filter(
      (s) =>
        matches(s.id, s.protocol, JSON.stringify(s.roles), s.cause?.message) ||
        entriesOf(s.id).some((e) => matches(e.label, e.payload, e.text))
    )
    .sort((a, b) => (a.ended ? 1 : 0) - (b.ended ? 1 : 0) || b.first - a.first)
  const body = el.querySelector("tbody")
  keyed(
    body,
    list,
    (s) => s.id,
    (s) => JSON.stringify([outcomeOf(s), s.entries]),
    (s) =>
      h(
        "tr",
        { "data-session": s.id, onclick: () => (location.hash = `#/sessions/${encodeURIComponent(s.id)}`) },
        h("td.mono", {}, h("a", { href: `#/sessions/${encodeURIComponent(s.id)}` }, s.id)),
        h("td", {}, s.protocol),
        h("td", {}, h(`span.status.${outcomeOf(s)}`, {}, outcomeOf(s))),
        h("td", {}, Object.keys(s.roles ?? {}).join(", ")),
        h("td", {}, String(s.entries)),
        h("td", {}, time(s.started ?? s.first)),
        h("td", {}, s.nodes.join(", "))
      )
  )
  if (list.length === 0 && !el.querySelector("p.empty")) el.append(h("p.empty", {}, "No session yet."))
  if (list.length > 0) el.querySelector("p.empty")?.remove()
}

function sessionView(main, id) {
  const el = root(main, `session:${id}`)
  const s = sessions().find((x) => x.id === id)
  if (!el.firstChild) {
    el.append(h("div.session-head"), h("div.questions"), h("div.seq-scroll", {}, h("div.seq")), h("div.roles-now"))
  }
  const head = el.querySelector(".session-head")
  if (s === undefined) {
    keep(head, "missing", () => [
      h("h2", {}, `Session ${id}`),
      h("span.muted", {}, "not seen (yet) by any inspected node")
    ])
    return
  }
  const entries = entriesOf(id)
  const roles = laneOrder(s, entries)
  keep(head, JSON.stringify([outcomeOf(s), s.cause, roles, canAct()]), () => [
    h("h2", {}, "Session ", h("code.session-id", {}, id)),
    h("span", {}, s.protocol),
    h(`span.status.${outcomeOf(s)}`, { "data-outcome": outcomeOf(s) }, outcomeOf(s)),
    h("span.muted", {}, `started ${time(s.started ?? s.first)}${s.node ? ` on ${s.node}` : ""}`),
    s.ended
      ? h("span.muted", {}, `ended ${time(s.ended)} (${((s.ended - (s.started ?? s.first)) / 1000).toFixed(2)} s)`)
      : null,
    s.cause ? h("span.error", {}, s.cause.message) : null,
    h("button", { onclick: () => copyLink(id) }, "copy link"),
    canAct() && !s.ended && s.node
      ? h(
          "button.danger",
          {
            onclick: async (e) => {
              e.target.disabled = true
              try {
                await act({
                  kind: "cancel",
                  node: s.node,
                  session: id,
                  reason: `cancelled by ${who()} from the inspector`
                })
              } catch (error) {
                alert(error.message)
              }
            }
          },
          "cancel session"
        )
      : null,
    h("a", { href: "#/sessions" }, "all sessions")
  ])
  // the questions of this session, right above its diagram
  const questions = allQuestions().filter((q) => q.session === id)
  keyed(
    el.querySelector(".questions"),
    questions,
    (q) => `${q.node}/${q.id}`,
    () => "1",
    questionCard
  )
  drawSequence(el.querySelector(".seq"), s, roles, entries)
  const now = parts().flatMap((p) => p.roles.filter((r) => r.session === id).map((r) => ({ ...r, node: p.node })))
  keep(el.querySelector(".roles-now"), JSON.stringify(now), () =>
    now.length === 0 || s.ended
      ? []
      : [
          h("h2", {}, "Where each role stands"),
          h(
            "table",
            {},
            h("tr", {}, ...["role", "node", "actor", "state", "may now", "waiting for"].map((t) => h("th", {}, t))),
            now.map((r) =>
              h(
                "tr",
                { "data-role": r.role },
                h("td", {}, r.role),
                h("td", {}, r.node),
                h("td.mono", {}, r.path),
                h("td", {}, String(r.state)),
                h("td.mono", {}, r.expected.join(" or ") || "end"),
                h("td", {}, r.waitingFor ?? (r.running ? "—" : "restarting"))
              )
            )
          )
        ]
  )
}

function copyLink(id) {
  const link = `${location.origin}${location.pathname}#/sessions/${encodeURIComponent(id)}`
  navigator.clipboard?.writeText(link).catch(() => {})
  prompt("A link to this session:", link)
}

/** The lanes: the roles in the order the session declared them, then any other role seen. */
function laneOrder(s, entries) {
  const roles = Object.keys(s.roles ?? {})
  for (const e of entries) for (const r of [e.role, e.peer]) if (r && !roles.includes(r)) roles.push(r)
  return roles
}

/**
 * The rows of the diagram: a message is drawn when sent (solid once received, dashed while in flight, crossed
 * when the session ended without it arriving); a receive with no send seen (an unchecked peer, or a node without
 * an inspector) is drawn dotted; everything else is a note over its role.
 */
function rowsOf(s, entries) {
  const sent = new Map()
  const received = new Map()
  const rows = []
  for (const e of entries) {
    if (e.kind === "send") {
      const channel = `${e.role}\u0000${e.peer}`
      const list = sent.get(channel) ?? []
      sent.set(channel, list)
      const row = { key: `${e.node}:${e.i}`, e, from: e.role, to: e.peer, status: "pending" }
      list.push(row)
      rows.push(row)
    } else if (e.kind === "receive") {
      const channel = `${e.peer}\u0000${e.role}`
      const n = received.get(channel) ?? 0
      received.set(channel, n + 1)
      const match = (sent.get(channel) ?? [])[n]
      if (match) match.status = "delivered"
      else rows.push({ key: `${e.node}:${e.i}`, e, from: e.peer, to: e.role, status: "unchecked" })
    } else rows.push({ key: `${e.node}:${e.i}`, e, note: e.kind })
  }
  // receives seen before their send (a faster node): match them now
  for (const [channel, n] of received) for (const row of (sent.get(channel) ?? []).slice(0, n)) row.status = "delivered"
  if (s.ended) for (const r of rows) if (r.status === "pending") r.status = "lost"
  if (s.ended)
    rows.push({
      key: "end",
      e: { at: s.ended, kind: s.outcome },
      note: s.outcome,
      all: true,
      text:
        s.outcome === "completed"
          ? "completed"
          : `aborted${s.cause?.role ? ` by ${s.cause.role}` : ""}: ${s.cause?.message ?? ""}`
    })
  return rows
}

function drawSequence(seq, s, roles, entries) {
  const n = Math.max(1, roles.length)
  seq.style.setProperty("--n", String(n))
  const lanes = () => roles.map((_, i) => h("div.lane", { style: `grid-column:${i + 2}` }))
  let head = seq.querySelector(".head")
  if (head === null) head = seq.appendChild(h("div.row.head"))
  keep(head, JSON.stringify([roles, s.roles]), () => [
    h("div.time", {}, "time"),
    roles.map((role, i) =>
      h(
        "div.role",
        { style: `grid-column:${i + 2}`, "data-lane": role, title: s.roles?.[role] ?? "" },
        role,
        h("small", {}, s.roles?.[role] ?? "")
      )
    )
  ])
  let body = seq.querySelector(".body")
  if (body === null) body = seq.appendChild(h("div.body"))
  const lane = (role) => Math.max(0, roles.indexOf(role)) + 2
  keyed(
    body,
    rowsOf(s, entries),
    (r) => r.key,
    (r) => `${r.status ?? ""}:${n}`,
    (r) => {
      const e = r.e
      const row = h(
        "div.row",
        { "data-kind": e.kind, "data-role": e.role ?? "", "data-label": e.label ?? "" },
        h("div.time", { title: new Date(e.at).toISOString() }, time(e.at)),
        lanes()
      )
      if (r.note !== undefined) {
        const [a, b] = r.all ? [2, n + 2] : [lane(e.role), lane(e.role) + 1]
        const text = r.text ?? e.text ?? e.kind
        row.append(
          h(
            `div.note.k-${r.note}`,
            { style: `grid-column:${a} / ${b}` },
            r.all ? null : h("b", {}, `${e.role}: `),
            text
          )
        )
        return row
      }
      const [from, to] = [lane(r.from), lane(r.to)]
      const [a, b] = from <= to ? [from, to + 1] : [to, from + 1]
      const span = b - a
      const inset = `calc(100% / ${2 * span})`
      row.append(
        h(
          `div.msg.${from <= to ? "right" : "left"}.${r.status}`,
          { style: `grid-column:${a} / ${b}`, "data-from": r.from, "data-to": r.to, "data-status": r.status },
          h("div.label", {}, payloadView(e.label, e.payload)),
          h("div.line", { style: `left:${inset};right:${inset}` })
        )
      )
      return row
    }
  )
}

// ---------------------------------------------------------------------------------------------------------
// Agents

function agentsView(main) {
  const el = root(main, "agents")
  if (!el.querySelector("table"))
    el.append(
      h(
        "table.agents",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...[
              "agent",
              "node",
              "turns",
              "model calls",
              "tool calls",
              "tokens in / out",
              "cost",
              "budget left",
              "latest"
            ].map((t) => h("th", {}, t))
          )
        ),
        h("tbody")
      )
    )
  const agents = parts()
    .flatMap((p) => Object.values(p.agents).map((a) => ({ ...a, node: p.node })))
    .filter((a) => matches(a.agent, a.path, ...a.recent.map((r) => r.text)))
    .sort((a, b) => b.lastAt - a.lastAt)
  keyed(
    el.querySelector("tbody"),
    agents,
    (a) => `${a.node}:${a.path}`,
    (a) => String(a.lastAt),
    (a) =>
      h(
        "tr",
        { "data-agent": a.path },
        h("td", {}, h("b", {}, a.agent), h("div.muted.mono", {}, a.path)),
        h("td", {}, a.node),
        h("td", {}, String(a.turns)),
        h("td", {}, String(a.calls)),
        h("td", {}, String(a.toolCalls)),
        h("td", {}, `${a.inputTokens} / ${a.outputTokens}`),
        h("td", {}, money(a.cost)),
        h("td", {}, budgetView(a.budget)),
        h(
          "td",
          {},
          a.recent.length === 0
            ? "—"
            : h(
                "details",
                {},
                h("summary", {}, a.recent[a.recent.length - 1].text.slice(0, 80)),
                h(
                  "ul",
                  {},
                  a.recent
                    .slice()
                    .reverse()
                    .map((r) => h("li", {}, h("span.muted", {}, `${time(r.at)} `), r.text))
                )
              )
        )
      )
  )
  if (agents.length === 0 && !el.querySelector("p.empty"))
    el.append(h("p.empty", {}, "No agent has called a model yet."))
  if (agents.length > 0) el.querySelector("p.empty")?.remove()
}

function budgetView(b) {
  if (!b) return h("span.muted", {}, "no budget")
  const out = []
  if (b.maxTokens !== undefined)
    out.push(h("div", { "data-budget": "tokens" }, `${Math.max(0, b.maxTokens - b.tokens)} tokens of ${b.maxTokens}`))
  if (b.maxCost !== undefined)
    out.push(h("div", { "data-budget": "cost" }, `${money(Math.max(0, b.maxCost - b.spent))} of ${money(b.maxCost)}`))
  return h("div", {}, out)
}

// ---------------------------------------------------------------------------------------------------------
// People: questions waiting for a person

const allQuestions = () => parts().flatMap((p) => Object.values(p.questions ?? {}).map((q) => ({ ...q, node: p.node })))

function peopleView(main) {
  const el = root(main, "people")
  if (!el.querySelector(".list"))
    el.append(
      h("p.muted", {}, "Questions waiting for a person: moves of roles played by people, tool calls to approve."),
      h("div.list")
    )
  const questions = allQuestions()
    .filter((q) => matches(q.title, q.session, q.role, JSON.stringify(q.detail)))
    .sort((a, b) => a.asked - b.asked)
  keyed(
    el.querySelector(".list"),
    questions,
    (q) => `${q.node}/${q.id}`,
    () => "1",
    questionCard
  )
  if (questions.length === 0 && !el.querySelector("p.empty"))
    el.append(h("p.empty", {}, "Nobody is asked anything now."))
  if (questions.length > 0) el.querySelector("p.empty")?.remove()
}

function questionCard(q) {
  const card = h(
    "div.card.question",
    { "data-question": q.id, "data-kind": q.kind, "data-node": q.node },
    h("h3", {}, q.title),
    h(
      "div.muted",
      {},
      `asked ${time(q.asked)} on ${q.node}${q.path ? ` by ${q.path}` : ""}`,
      q.session
        ? [" · ", h("a", { href: `#/sessions/${encodeURIComponent(q.session)}` }, `session ${q.session}`)]
        : null
    )
  )
  const status = h("div.status-line")
  const send = async (answer, button) => {
    status.className = "status-line"
    status.textContent = "sending…"
    if (button) button.disabled = true
    try {
      await act({ kind: "answer", node: q.node, question: q.id, answer, by: who() })
      status.className = "done"
      status.textContent = "answered"
    } catch (error) {
      status.className = "error"
      status.textContent = error.message
      if (button) button.disabled = false
    }
  }
  const readOnly = !canAct()
  if (q.kind === "move") card.append(moveQuestion(q, send, readOnly))
  else if (q.kind === "approval") card.append(approvalQuestion(q, send, readOnly))
  else card.append(h("pre", {}, JSON.stringify(q.detail, null, 2)), answerBox(send, readOnly))
  if (readOnly)
    card.append(h("p.muted", {}, "Read-only: open the URL the node printed (it carries the token) to answer."))
  card.append(status)
  return card
}

function moveQuestion(q, send, readOnly) {
  const d = q.detail
  return h(
    "div",
    {},
    d.instructions ? h("p", {}, d.instructions) : null,
    h("div.muted", {}, `${d.who} plays ${q.role}. Received so far:`),
    d.received.length === 0
      ? h("p.muted", {}, "nothing yet")
      : h(
          "ol.received",
          {},
          d.received.map((m) =>
            h(
              "li",
              {},
              `${m.from} → ${m.label}`,
              m.payload === null ? "" : h("code", {}, ` ${JSON.stringify(m.payload)}`)
            )
          )
        ),
    h("div.muted", {}, "Your move: exactly what the protocol allows now"),
    h(
      "div.moves",
      {},
      d.moves.map((m) => {
        const form = schemaForm(m.schema)
        const button = h(
          "button.primary",
          { type: "submit", disabled: readOnly, "data-move": m.move },
          form.empty ? `send ${m.label}` : `send ${m.label}…`
        )
        return h(
          "div.move",
          { "data-move": m.move },
          h("div", {}, h("code", {}, m.move), " to ", h("b", {}, m.to)),
          h(
            "form",
            {
              onsubmit: (e) => {
                e.preventDefault()
                let payload
                try {
                  payload = form.value()
                } catch (error) {
                  return alert(error.message)
                }
                send({ label: m.label, payload }, button)
              }
            },
            form.element,
            button
          )
        )
      })
    )
  )
}

function approvalQuestion(q, send, readOnly) {
  const d = q.detail
  const form = schemaForm(d.schema, d.arguments)
  const reason = h("input", { type: "text", placeholder: "why (the model reads it)", "aria-label": "reason" })
  let editing = false
  const edit = h("div.edit", { hidden: true }, h("div.muted", {}, "Arguments to run it with:"), form.element)
  return h(
    "div.approval",
    {},
    h(
      "p",
      {},
      h("b", {}, d.agent),
      ` wants to call `,
      h("code", {}, d.tool),
      d.description ? h("span.muted", {}, ` (${d.description})`) : null
    ),
    h("pre.arguments", {}, JSON.stringify(d.arguments, null, 2)),
    edit,
    h(
      "div.buttons",
      {},
      h(
        "button.primary",
        {
          disabled: readOnly,
          "data-decision": "approve",
          onclick: (e) =>
            editing
              ? send({ decision: "edit", arguments: form.value() }, e.target)
              : send({ decision: "approve" }, e.target)
        },
        "approve"
      ),
      h(
        "button",
        {
          disabled: readOnly,
          "data-decision": "edit",
          onclick: (e) => {
            editing = !editing
            edit.hidden = !editing
            e.target.textContent = editing ? "keep the model's arguments" : "edit arguments"
          }
        },
        "edit arguments"
      ),
      reason,
      h(
        "button.danger",
        {
          disabled: readOnly,
          "data-decision": "refuse",
          onclick: (e) =>
            send({ decision: "refuse", ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }, e.target)
        },
        "refuse"
      )
    )
  )
}

function answerBox(send, readOnly) {
  const text = h("textarea", { placeholder: "your answer, as JSON" })
  return h(
    "div",
    {},
    text,
    h(
      "button.primary",
      {
        disabled: readOnly,
        onclick: (e) => {
          try {
            send(JSON.parse(text.value), e.target)
          } catch (error) {
            alert(error.message)
          }
        }
      },
      "answer"
    )
  )
}

/**
 * A form for a JSON Schema (draft 2020-12, as Effect writes it): text, numbers, booleans, choices and objects
 * get their own fields; anything else is edited as JSON. `value()` reads it back (throwing on bad input).
 */
function schemaForm(schema, initial) {
  const field = (s, value, name) => {
    s = s ?? {}
    const types = Array.isArray(s.anyOf) ? s.anyOf : [s]
    const main =
      types.find(
        (t) =>
          t.type &&
          t.type !== "null" &&
          !(
            t.type === "string" &&
            Array.isArray(t.enum) &&
            t.enum.every((v) => ["Infinity", "-Infinity", "NaN"].includes(v))
          )
      ) ??
      types[0] ??
      {}
    if (main.type === "null") return { element: null, value: () => null, empty: true }
    if (Array.isArray(main.enum) || main.const !== undefined) {
      const options = main.enum ?? [main.const]
      const select = h(
        "select",
        { name },
        options.map((o) =>
          h("option", { value: JSON.stringify(o), selected: JSON.stringify(o) === JSON.stringify(value) }, String(o))
        )
      )
      return { element: select, value: () => JSON.parse(select.value) }
    }
    if (main.type === "string") {
      const input = h("input", { type: "text", name, value: value ?? "" })
      return { element: input, value: () => input.value }
    }
    if (main.type === "number" || main.type === "integer") {
      const input = h("input", {
        type: "number",
        name,
        step: main.type === "integer" ? "1" : "any",
        value: value ?? ""
      })
      return {
        element: input,
        value: () => {
          if (input.value.trim() === "") throw new Error(`${name || "the number"} is empty`)
          return Number(input.value)
        }
      }
    }
    if (main.type === "boolean") {
      const input = h("input", { type: "checkbox", name, checked: value === true })
      return { element: input, value: () => input.checked }
    }
    if (main.type === "object" && main.properties && Object.keys(main.properties).length > 0) {
      const required = new Set(main.required ?? [])
      const fields = Object.entries(main.properties).map(([key, sub]) => [
        key,
        field(sub, value?.[key], key),
        required.has(key)
      ])
      const element = h(
        "fieldset",
        {},
        fields.map(([key, f, req]) =>
          h("label", {}, h("span", {}, key, req ? "" : " (optional)"), f.element ?? h("span.muted", {}, "nothing"))
        )
      )
      return {
        element,
        value: () => {
          const out = {}
          for (const [key, f, req] of fields) {
            const v = f.value()
            if (req || (v !== "" && v !== null)) out[key] = v
          }
          return out
        }
      }
    }
    if (main.type === "object") return { element: null, value: () => ({}), empty: true }
    const text = h("textarea", { name, placeholder: "JSON" }, value === undefined ? "" : JSON.stringify(value, null, 2))
    return { element: text, value: () => JSON.parse(text.value) }
  }
  const f = field(schema, initial, "")
  return { element: f.element ?? h("span.muted", {}, "no payload"), value: f.value, empty: f.empty === true }
}

// ---------------------------------------------------------------------------------------------------------
// Dead letters

function deadLettersView(main) {
  const el = root(main, "dead-letters")
  if (!el.querySelector("table"))
    el.append(
      h(
        "table.dead-letters",
        {},
        h(
          "thead",
          {},
          h("tr", {}, ...["time", "node", "recipient", "message", "why", "content"].map((t) => h("th", {}, t)))
        ),
        h("tbody")
      )
    )
  const letters = parts()
    .flatMap((p) => p.deadLetters.map((d, i) => ({ ...d, node: p.node, i })))
    .filter((d) => matches(d.recipient, d.tag, d.reason, d.message))
    .sort((a, b) => b.at - a.at)
  keyed(
    el.querySelector("tbody"),
    letters,
    (d) => `${d.node}:${d.at}:${d.i}`,
    () => "1",
    (d) =>
      h(
        "tr",
        { "data-recipient": d.recipient },
        h("td", {}, time(d.at)),
        h("td", {}, d.node),
        h("td.mono", {}, d.recipient),
        h("td", {}, d.tag),
        h("td", {}, d.reason),
        h("td", {}, payloadView(d.tag, d.message))
      )
  )
  if (letters.length === 0 && !el.querySelector("p.empty")) el.append(h("p.empty", {}, "No dead letters."))
  if (letters.length > 0) el.querySelector("p.empty")?.remove()
}

const views = {
  cluster: clusterView,
  actors: actorsView,
  sessions: sessionsView,
  agents: agentsView,
  people: peopleView,
  "dead-letters": deadLettersView
}

window.addEventListener("hashchange", () => {
  document.getElementById("main").replaceChildren()
  render()
})
document.getElementById("search").addEventListener("input", render)
connect()
