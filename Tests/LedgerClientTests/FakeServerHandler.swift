import LedgerWire
import NIOCore

/// One connection of the fake server: decodes requests and acts as the shared state says.
final class FakeServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: FakeServerState
    private var processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: .requests))
    private var held: [Message] = []

    init(state: FakeServerState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try processor.process(buffer: unwrapInboundIn(data)) { message in
                guard case .request(let id, let request) = message else { return }
                act(state.handle(request, id: id, channel: context.channel), context: context)
            }
        } catch {
            context.close(promise: nil)
        }
    }

    private func act(_ action: FakeServerState.Action, context: ChannelHandlerContext) {
        switch action {
        case .reply(let message):
            send([message], context: context)
        case .hold(let message, let count):
            held.append(message)
            if held.count >= count {
                send(held.reversed(), context: context)
                held = []
            }
        case .dropConnection:
            context.close(promise: nil)
        case .corrupt:
            var b = context.channel.allocator.buffer(capacity: 64)
            b.writeRepeatingByte(0xAB, count: 64)
            context.writeAndFlush(wrapOutboundOut(b), promise: nil)
        case .nothing:
            break
        }
    }

    private func send(_ messages: [Message], context: ChannelHandlerContext) {
        var b = context.channel.allocator.buffer(capacity: 256)
        for m in messages { try? MessageEncoding.encode(m, into: &b) }
        context.writeAndFlush(wrapOutboundOut(b), promise: nil)
    }
}
