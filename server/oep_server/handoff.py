"""Workers of one server: who is busy (a shared table) and passing a connection to an idle worker
(SCM_RIGHTS over a Unix socket)."""

import array
import mmap
import socket
import struct


HANDOFF_WAIT_S = 0.002  # how long a busy worker waits for its own run() before handing a request to an idle one


class Cluster(object):
    """State shared by the workers of one server: requests in flight per worker (-1 = not serving yet)
    and one SOCK_SEQPACKET channel per worker over which other workers pass it connections (SCM_RIGHTS)."""

    def __init__(self, count):
        self.count = count
        # One int per entry: requests in flight per worker, then the counts that tell how many
        # connections each worker has open (connections_open). Every count has a single writer
        # process, so that no update is lost: kept[w] and closed[w] are written by worker w,
        # sent[s][t] (connections worker s passed to worker t) by worker s.
        self.table = mmap.mmap(-1, 4 * (3 * count + count * count))
        for slot in range(count):
            struct.pack_into("i", self.table, 4 * slot, -1)
        self.channels = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(count)]

    def publish(self, slot, in_flight):
        struct.pack_into("i", self.table, 4 * slot, in_flight)

    def _get(self, index):
        return struct.unpack_from("i", self.table, 4 * index)[0]

    def _add(self, index, delta):
        struct.pack_into("i", self.table, 4 * index, self._get(index) + delta)

    def count_kept(self, slot):
        """Worker `slot` keeps a connection it accepted."""
        self._add(self.count + slot, 1)

    def count_closed(self, slot):
        """Worker `slot` closed a connection (or its copy of one it passed on)."""
        self._add(2 * self.count + slot, 1)

    def count_sent(self, sender, target):
        """Worker `sender` passed a connection to worker `target`."""
        self._add(3 * self.count + sender * self.count + target, 1)

    def connections_open(self, slot):
        count = self.count
        received = sum(self._get(3 * count + sender * count + slot) for sender in range(count))
        return self._get(count + slot) + received - self._get(2 * count + slot)

    def forget_connections(self, slot):
        """A new worker in `slot`: the connections its predecessor had open closed with it."""
        self._add(2 * self.count + slot, self.connections_open(slot))

    def find_fewer_connections(self, me):
        """The serving worker with the fewest connections open, if it has fewer than this one."""
        best, best_open = None, self.connections_open(me)
        for slot in range(self.count):
            if slot == me or self._get(slot) < 0:
                continue  # not serving: starting, or gone
            open_now = self.connections_open(slot)
            if open_now < best_open:
                best, best_open = slot, open_now
        return best

    def find_idle(self, me):
        count = self.count
        for offset in range(1, count):
            slot = (me + offset) % count
            if struct.unpack_from("i", self.table, 4 * slot)[0] == 0:
                return slot
        return None

    def find_less_loaded(self, me, mine):
        best, best_load = None, mine - 1
        for offset in range(1, self.count):
            slot = (me + offset) % self.count
            load = struct.unpack_from("i", self.table, 4 * slot)[0]
            if 0 <= load < best_load:
                best, best_load = slot, load
        return best

    def send_connection(self, slot, sock):
        try:
            self.channels[slot][1].sendmsg(
                [b"C"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))]
            )
            return True
        except OSError:
            return False

    def receive_connections(self, slot, on_fd):
        rx = self.channels[slot][0]
        item = array.array("i").itemsize
        while True:
            try:
                msg, ancdata, _, _ = rx.recvmsg(16, socket.CMSG_SPACE(4 * item))
            except InterruptedError:
                continue
            except OSError:
                return
            if not msg and not ancdata:
                return
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(data[: len(data) - (len(data) % item)])
                    for fd in fds:
                        on_fd(fd)
