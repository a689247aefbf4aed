"""Shared by the PyTorch DDP peers: start `world` gloo ranks on loopback and return rank 0's figure."""
import socket


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_gloo_ranks(worker, world, args, timeout_s):
    """Runs worker(rank, world, port, queue, *args) in `world` spawned processes; rank 0 puts one value on queue."""
    import torch.multiprocessing as mp
    port = free_port()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, world, port, queue, *args)) for r in range(world)]
    for p in procs:
        p.start()
    try:
        return queue.get(timeout=timeout_s)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
