extension Pool {
    /// Suspends until the pool's driver has ended (every worker exited), without closing it.
    package func waitUntilFinished() async { await driver.waitFinished() }

    /// True once the pool has ended (closed and drained, terminated, or broken).
    package var isFinished: Bool { driver.isFinished }
}
