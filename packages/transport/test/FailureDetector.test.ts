import { assert, describe, it } from "@effect/vitest"
import { FailureDetector } from "../src/index.ts"

describe("FailureDetector", () => {
  it("timeout: available until the timeout passes without a heartbeat", () => {
    const detector = FailureDetector.make(FailureDetector.timeout("1 second"), 100, 0)
    assert.isTrue(detector.isAvailable(999))
    assert.isFalse(detector.isAvailable(1000))
    detector.heartbeat(900)
    assert.isTrue(detector.isAvailable(1899))
    assert.isFalse(detector.isAvailable(1900))
    assert.closeTo(detector.suspicion(1400), 0.5, 1e-9)
  })

  it("phi accrual: suspicion grows with silence, and regular heartbeats keep it low", () => {
    const options = FailureDetector.phiAccrual({ threshold: 8, acceptableHeartbeatPause: "0 millis" })
    const detector = FailureDetector.make(options, 100, 0)
    for (let t = 100; t <= 5000; t += 100) detector.heartbeat(t)
    assert.isBelow(detector.suspicion(5100), 1)
    assert.isTrue(detector.isAvailable(5100))
    const later = [5200, 5300, 5500, 6000].map((t) => detector.suspicion(t))
    for (let i = 1; i < later.length; i++) assert.isAbove(later[i]!, later[i - 1]!)
    assert.isFalse(detector.isAvailable(6000))
  })

  it("phi accrual: an acceptable pause delays the verdict", () => {
    const strict = FailureDetector.make(FailureDetector.phiAccrual({ acceptableHeartbeatPause: "0 millis" }), 100, 0)
    const lenient = FailureDetector.make(FailureDetector.phiAccrual({ acceptableHeartbeatPause: "2 seconds" }), 100, 0)
    for (let t = 100; t <= 2000; t += 100) {
      strict.heartbeat(t)
      lenient.heartbeat(t)
    }
    assert.isFalse(strict.isAvailable(3000))
    assert.isTrue(lenient.isAvailable(3000))
    assert.isFalse(lenient.isAvailable(6000))
  })

  it("phi accrual: adapts to the observed interval", () => {
    const detector = FailureDetector.make(FailureDetector.phiAccrual({ acceptableHeartbeatPause: "0 millis" }), 100, 0)
    for (let t = 1000; t <= 60_000; t += 1000) detector.heartbeat(t) // the peer actually beats every second
    assert.isTrue(detector.isAvailable(60_000 + 1200))
    assert.isFalse(detector.isAvailable(60_000 + 5000))
  })

  it("a pause of this node is not held against the peer (both kinds)", () => {
    for (const options of [
      FailureDetector.timeout("1 second"),
      FailureDetector.phiAccrual({ acceptableHeartbeatPause: "0 millis" })
    ]) {
      const detector = FailureDetector.make(options, 100, 0)
      for (let t = 100; t <= 2000; t += 100) detector.heartbeat(t)
      // this node stalled 6 s: without the pause the peer would be long gone
      assert.isFalse(detector.isAvailable(8100))
      detector.pause(6000)
      assert.isTrue(detector.isAvailable(8100))
      // the pause forgives only itself: silence after it still counts
      assert.isFalse(detector.isAvailable(8000 + 6000))
    }
  })
})
