#!/usr/bin/env python3
"""sink.py: a fast webhook receiver for bench/webhook.sh: answers 200 to every POST, counts events.

asyncio with keep-alive; GET /count answers {"requests":N,"events":M}. --port-file gets the port.
--latency SECONDS: each POST is answered that long after it arrived (a receiver far away). A body
that is a JSON array (Alertmanager's form) counts its elements, as Alertmanager answers 200.
"""
import argparse
import asyncio
import json
import os

stats = {"requests": 0, "events": 0}
latency = 0.0


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if method == "POST":
                doc = json.loads(body)
                stats["requests"] += 1
                if isinstance(doc, list):
                    stats["events"] += len(doc)
                else:
                    stats["events"] += len(doc["events"]) if "events" in doc else 1
                reply = b""
                if latency:
                    await asyncio.sleep(latency)
            else:
                reply = json.dumps(stats).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--latency", type=float, default=0.0)
    args = p.parse_args()
    global latency
    latency = args.latency
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    async with server:
        await server.serve_forever()


asyncio.run(main())
