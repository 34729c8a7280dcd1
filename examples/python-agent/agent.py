#!/usr/bin/env python3
"""A Python agent for OpenClaw Gateway that uses only grpcio and stubs generated from proto/.

It proves the gRPC API is usable without the TypeScript SDK. It registers, keeps its lease alive,
opens its Subscribe session (its inbox plus topic subscriptions), answers requests, acks durable
messages and answers the gateway's health probes. Every action is printed as one JSON line, so a
supervisor (or a test) can follow it.

When a call or its session fails (the gateway restarted, the network dropped, the lease was lost)
it logs why, waits with capped exponential backoff plus jitter, registers again and reopens its
session: it does not exit. Only a registration the gateway refuses as invalid ends it (exit 2).

    python3 agent.py --target 127.0.0.1:7400 --agent-id py-1 --service py-echo --topic jobs.>

Stubs are generated into a cache folder at start (grpc_tools.protoc), so the proto is the only
source of truth: no generated Python is committed.
"""
import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
PROTO_FILE = os.path.join("openclaw", "gateway", "v1", "gateway.proto")


def generate_stubs(out_dir):
    """Compiles gateway.proto into gateway_pb2 / gateway_pb2_grpc under out_dir."""
    from grpc_tools import protoc

    os.makedirs(out_dir, exist_ok=True)
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            os.path.join(PROTO_ROOT, PROTO_FILE),
        ]
    )
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    sys.path.insert(0, out_dir)
    from openclaw.gateway.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402

    return gateway_pb2, gateway_pb2_grpc


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class Backoff:
    """Capped exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling to the cap,
    so many agents dropped at once by a restarting gateway do not come back in lockstep."""

    def __init__(self, initial_ms, max_ms, rng=None):
        self.initial_ms = initial_ms
        self.max_ms = max_ms
        self.attempt = 0
        self.rng = rng or random.Random()

    def next_ms(self):
        ceiling = min(self.max_ms, self.initial_ms * (2 ** self.attempt))
        self.attempt += 1
        return int(self.rng.uniform(ceiling / 2, ceiling))

    def reset(self):
        self.attempt = 0


# Refusals that trying again cannot fix: the agent's own arguments are wrong.
FATAL_ON_REGISTER = ("INVALID_ARGUMENT", "UNIMPLEMENTED")


class Agent:
    def __init__(self, args, pb, pb_grpc):
        import grpc

        self.grpc = grpc
        self.args = args
        self.pb = pb
        self.channel = grpc.insecure_channel(args.target)
        self.stub = pb_grpc.GatewayServiceStub(self.channel)
        self.stopped = threading.Event()
        self.agent_id = args.agent_id
        self.registered = threading.Event()
        self.stream = None
        self.backoff = Backoff(args.retry_initial_ms, args.retry_max_ms)

    def register(self):
        info = self.pb.AgentInfo(
            agent_id=self.agent_id,
            service=self.args.service,
            version=self.args.version,
            tags={"lang": "python"},
            capabilities=["echo"],
            lease_ttl_ms=self.args.lease_ms,
        )
        # A managed instance proves it is the process the supervisor started for this agent id.
        token = os.environ.get("OPENCLAW_INSTANCE_TOKEN")
        metadata = [("x-openclaw-instance-token", token)] if token else None
        result = self.stub.RegisterAgent(info, timeout=5, metadata=metadata)
        self.agent_id = result.agent_id
        emit("registered", agent_id=result.agent_id, lease_ttl_ms=result.lease_ttl_ms)
        return result

    def keep_lease(self):
        while not self.stopped.wait(self.heartbeat_interval()):
            if not self.registered.is_set():
                continue
            try:
                self.stub.Heartbeat(self.pb.HeartbeatRequest(agent_id=self.agent_id), timeout=5)
            except self.grpc.RpcError as error:
                emit("heartbeat_failed", code=error.code().name, details=error.details())
                if error.code() == self.grpc.StatusCode.NOT_FOUND:
                    # The gateway forgot this agent (lease expired, gateway restarted): start over.
                    self.end_session("lease lost: " + (error.details() or ""))

    def heartbeat_interval(self):
        return max(self.lease_ttl_ms / 3000.0, 0.2)

    def end_session(self, reason):
        self.registered.clear()
        stream = self.stream
        if stream is not None:
            emit("session_reset", reason=reason)
            stream.cancel()

    def call(self, rpc, request, **kwargs):
        """One unary call whose failure is logged and survived; None when it failed."""
        try:
            return getattr(self.stub, rpc)(request, timeout=5, **kwargs)
        except self.grpc.RpcError as error:
            emit("call_failed", rpc=rpc, code=error.code().name, details=error.details())
            return None

    def handle(self, delivery):
        message = delivery.message
        emit(
            "delivery",
            message_id=message.id,
            topic=message.topic,
            payload=message.payload.decode("utf-8", "replace"),
            durable=message.durable,
            attempt=delivery.attempt,
            tag=delivery.delivery_tag,
        )
        if message.reply_to:
            reply = self.pb.Message(
                topic=message.reply_to,
                correlation_id=message.correlation_id,
                payload=b"python:" + message.payload,
                sender_id=self.agent_id,
                hops=message.hops,
                headers={k: v for k, v in message.headers.items() if k == "traceparent"},
            )
            if self.call("SendMessage", reply) is not None:
                emit("replied", correlation_id=message.correlation_id)
        if delivery.delivery_tag:
            result = self.call(
                "Ack",
                self.pb.AckRequest(
                    agent_id=self.agent_id,
                    acks=[self.pb.AckItem(delivery_tag=delivery.delivery_tag, kind=self.pb.ACK_KIND_ACK)],
                ),
            )
            # Unacked, the gateway redelivers it after the ack timeout: nothing is lost.
            if result is not None:
                emit("acked", tag=delivery.delivery_tag, result=result.outcomes[0].result if result.outcomes else "")

    def leave(self):
        # Goodbye before hanging up: the gateway hands unacked service messages to another instance
        # at once instead of waiting for this one to reconnect.
        if not self.agent_id:
            return
        try:
            self.stub.DeregisterAgent(self.pb.DeregisterRequest(agent_id=self.agent_id, reason="agent stopped"), timeout=2)
            emit("deregistered")
        except self.grpc.RpcError as error:
            emit("deregister_failed", code=error.code().name)

    def run(self):
        """Register, serve the session; on any failure log it, back off, and do it all again."""
        self.lease_ttl_ms = self.args.lease_ms
        threading.Thread(target=self.keep_lease, daemon=True).start()
        while not self.stopped.is_set():
            reason = self.session()
            if self.stopped.is_set():
                return
            delay_ms = self.backoff.next_ms()
            emit("reconnecting", attempt=self.backoff.attempt, delay_ms=delay_ms, reason=reason)
            if self.stopped.wait(delay_ms / 1000.0):
                return

    def session(self):
        """One registration and its Subscribe stream; returns why it ended."""
        try:
            registration = self.register()
        except self.grpc.RpcError as error:
            emit("register_failed", code=error.code().name, details=error.details())
            if error.code().name in FATAL_ON_REGISTER:
                emit("giving_up", reason=f"RegisterAgent refused: {error.code().name}: {error.details()}")
                raise SystemExit(2)
            return f"RegisterAgent failed: {error.code().name}: {error.details()}"
        self.lease_ttl_ms = registration.lease_ttl_ms or self.args.lease_ms
        self.registered.set()
        request = self.pb.SubscribeRequest(
            agent_id=self.agent_id,
            topics=[self.pb.TopicSubscription(pattern=t) for t in self.args.topic],
        )
        self.stream = self.stub.Subscribe(request)
        try:
            # The gateway sends headers once the session is live.
            self.stream.initial_metadata()
            emit("subscribed", topics=self.args.topic)
            self.backoff.reset()
            for event in self.stream:
                kind = event.WhichOneof("kind")
                if kind == "delivery":
                    self.handle(event.delivery)
                elif kind == "batch":
                    for delivery in event.batch.deliveries:
                        self.handle(delivery)
                elif kind == "notice" and event.notice.code == "probe":
                    if self.call("HealthCheck", self.pb.HealthRequest(agent_id=self.agent_id, probe_id=event.notice.message)) is not None:
                        emit("probe_answered", probe_id=event.notice.message)
                elif kind == "cancelled":
                    emit("cancelled", correlation_id=event.cancelled.correlation_id)
            emit("stream_ended", code="OK", details="the gateway closed the session")
            return "the gateway closed the session"
        except self.grpc.RpcError as error:
            if self.stopped.is_set():
                return "stopped"
            emit("stream_ended", code=error.code().name, details=error.details())
            return f"Subscribe ended: {error.code().name}: {error.details()}"
        finally:
            self.registered.clear()
            self.stream = None


def interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("OPENCLAW_TARGET", "127.0.0.1:7400"))
    parser.add_argument("--agent-id", default=os.environ.get("OPENCLAW_AGENT_ID", ""))
    parser.add_argument("--service", default="py-echo")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--lease-ms", type=int, default=10000)
    parser.add_argument("--topic", action="append", default=[])
    parser.add_argument("--stubs", default=os.path.join(tempfile.gettempdir(), "openclaw-py-stubs"))
    parser.add_argument("--retry-initial-ms", type=int, default=200, help="first reconnect delay")
    parser.add_argument("--retry-max-ms", type=int, default=10000, help="cap of the reconnect delay")
    args = parser.parse_args()
    pb, pb_grpc = generate_stubs(args.stubs)
    agent = Agent(args, pb, pb_grpc)
    # A supervisor stops agents with SIGTERM: leave as on Ctrl-C.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        agent.run()
    except KeyboardInterrupt:
        agent.stopped.set()
        agent.leave()


if __name__ == "__main__":
    main()
