"""moto's S3 on a free loopback port for one test class: prints MOTO_READY host:port, serves until stdin closes
(so it dies with the JVM that started it, however that ends)."""
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"MOTO_READY {host}:{port}", flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
