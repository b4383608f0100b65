import ForklineTrace

extension Connection {
    /// A blocking read of one frame that records its wait: with tracing on, it first reads what
    /// has arrived (the read it would make anyway), and only when that is not a whole frame does
    /// it record `waitBegin` (channel) before blocking, and `waitEnd` once the frame, the end of
    /// the stream or an error comes. Untraced, it is the plain blocking read.
    func advanceWaiting(_ p: inout PartialFrame) throws(ChannelError) -> FrameStep {
        guard Tracer.isEnabled else { return try advance(&p, blocking: true) }
        let now = try advance(&p, blocking: false)
        guard case .wouldBlock = now else { return now }
        let began = Tracer.waitBegin(.channel, channel)
        do throws(ChannelError) {
            let step = try advance(&p, blocking: true)
            if case .frame = step { Tracer.waitEnd(began, .channel, channel, .done) } else { Tracer.waitEnd(began, .channel, channel, .failed) }
            return step
        } catch {
            Tracer.waitEnd(began, .channel, channel, .failed)
            throw error
        }
    }
}
