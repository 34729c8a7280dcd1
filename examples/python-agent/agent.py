#!/usr/bin/env python3
"""A Python agent for OpenClaw Gateway that uses only grpcio and stubs generated from proto/.

It proves the gRPC API is usable without the TypeScript SDK. It registers, keeps its lease alive,
opens its Subscribe session (its inbox plus topic subscriptions), answers requests, acks durable
messages and answers the gateway's health probes. Every action is printed as one JSON line, so a
supervisor (or a test) can follow it.

    python3 agent.py --target 127.0.0.1:7400 --agent-id py-1 --service py-echo --topic jobs.>

Stubs are generated into a cache folder at start (grpc_tools.protoc), so the proto is the only
source of truth: no generated Python is committed.
"""
import argparse
import json
import os
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

    def keep_lease(self, ttl_ms):
        interval = max(ttl_ms / 3000.0, 0.2)
        while not self.stopped.wait(interval):
            try:
                self.stub.Heartbeat(self.pb.HeartbeatRequest(agent_id=self.agent_id), timeout=5)
            except self.grpc.RpcError as error:
                emit("heartbeat_failed", code=error.code().name, details=error.details())

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
            self.stub.SendMessage(reply, timeout=5)
            emit("replied", correlation_id=message.correlation_id)
        if delivery.delivery_tag:
            result = self.stub.Ack(
                self.pb.AckRequest(
                    agent_id=self.agent_id,
                    acks=[self.pb.AckItem(delivery_tag=delivery.delivery_tag, kind=self.pb.ACK_KIND_ACK)],
                ),
                timeout=5,
            )
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
        registration = self.register()
        threading.Thread(target=self.keep_lease, args=(registration.lease_ttl_ms,), daemon=True).start()
        request = self.pb.SubscribeRequest(
            agent_id=self.agent_id,
            topics=[self.pb.TopicSubscription(pattern=t) for t in self.args.topic],
        )
        stream = self.stub.Subscribe(request)
        emit("subscribed", topics=self.args.topic)
        try:
            for event in stream:
                kind = event.WhichOneof("kind")
                if kind == "delivery":
                    self.handle(event.delivery)
                elif kind == "batch":
                    for delivery in event.batch.deliveries:
                        self.handle(delivery)
                elif kind == "notice" and event.notice.code == "probe":
                    self.stub.HealthCheck(
                        self.pb.HealthRequest(agent_id=self.agent_id, probe_id=event.notice.message), timeout=5
                    )
                    emit("probe_answered", probe_id=event.notice.message)
                elif kind == "cancelled":
                    emit("cancelled", correlation_id=event.cancelled.correlation_id)
        except self.grpc.RpcError as error:
            if not self.stopped.is_set():
                emit("stream_ended", code=error.code().name, details=error.details())
                raise SystemExit(1)
        finally:
            self.stopped.set()


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
