#!/usr/bin/env python3
"""dropproxy.py: a TCP proxy that closes every reused HTTP/1.1 connection as its next request arrives.

  dropproxy.py --upstream HOST:PORT --port-file FILE [--stats FILE]

Listens on 127.0.0.1 (ephemeral port, written to FILE). Each client connection gets its own upstream
connection. The first request and its answer pass; once an answer has gone back, the next bytes the
client sends (the next request on the kept-alive connection) make the proxy close both sides without
a word: the race a server's keep-alive timeout causes, every time. --stats gets
{"connections": N, "dropped": N} after each change. Runs until killed.
"""

import argparse
import asyncio
import json
import os

stats = {"connections": 0, "dropped": 0}


def save(path):
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, path)


async def handle(reader, writer, upstream, stats_path):
    stats["connections"] += 1
    save(stats_path)
    host, port = upstream
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.close()
        return
    answered = asyncio.Event()

    async def down():
        while data := await up_reader.read(65536):
            writer.write(data)
            await writer.drain()
            answered.set()
        writer.close()

    task = asyncio.create_task(down())
    try:
        while data := await reader.read(65536):
            if answered.is_set():
                stats["dropped"] += 1
                save(stats_path)
                break
            up_writer.write(data)
            await up_writer.drain()
    except (ConnectionError, OSError):
        pass
    task.cancel()
    for w in (writer, up_writer):
        w.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--stats")
    args = p.parse_args()
    host, _, port = args.upstream.rpartition(":")
    upstream = (host, int(port))
    server = await asyncio.start_server(lambda r, w: handle(r, w, upstream, args.stats),
                                        "127.0.0.1", 0)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.replace(tmp, args.port_file)
    save(args.stats)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
