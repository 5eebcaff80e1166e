// A lab client of a real ZooKeeper release's own Java client library: the Java sibling of the
// lab writer (src/lab/writer.ts). Started by `lab up` (src/lab/javaclients.ts) once per client
// release, compiled against that release's jar and run on its own classpath (its zookeeper jar,
// lib/*.jar and conf/), given every server of the config like real clients. It alternates a
// write (setData of its own znode, created with its parent when missing) and a read (getData of
// the same znode, its contents checked) HZ times a second, one operation in flight, and appends
// each change of outcome to a JSON-lines file in the lab writer's format (times in epoch ms):
//   {"t":…,"event":"start","connect":"…","path":"/lab-clients/java-3.8.0","hz":15,"release":"3.8.0","version":"3.8.0-…"}
//   {"t":…,"event":"ok","acked":N,"reads":M}          an operation answered after an error (or the first one); t = its answer;
//        after an outage also "failed":K (operations that failed in it) and "lastError":"…" (its last error)
//   {"t":…,"event":"error","error":"…","op":"write"|"read","acked":N,"reads":M}   failed or slow after ok; t = when it was sent
//   {"t":…,"event":"heartbeat","state":"ok"|"error"|"none","acked":N,"reads":M}   once a minute
//   {"t":…,"event":"stop","acked":N,"reads":M}        on SIGTERM/SIGINT
// `acked` counts acknowledged writes, `reads` answered reads whose data was the node's, since
// start. An operation unanswered after STALL_MS is an outage from the moment it was sent, until
// an operation is answered (during an election the client library queues requests and answers
// them late, or fails them with ConnectionLoss when its connection attempt fails). The first
// operation is sent once the session is connected (at most CONNECT_WAIT_MS after start).
// Invariants (those of writer.ts): the node lives outside /lab (the lab tests count the nodes
// under /lab) and its data never changes (the data checks compare contents across servers and
// across a split window); never more than one operation in flight; every line is written whole
// with one append. Java 8 source; uses only the client API common to 3.4 and 3.8 (ZooKeeper,
// Watcher and its WatchedEvent, CreateMode, KeeperException, ZooDefs); the library's version is
// read by reflection (org.apache.zookeeper.Version, else the jar's name).
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public final class ZkrollLabClient {
  /** Operations per second (writes and reads alternate), as the lab writer's WRITER_HZ. */
  static final int HZ = 15;
  /** An operation unanswered for this long (ms) counts as failed from the moment it was sent. */
  static final long STALL_MS = 250;
  /** Session timeout asked of the servers (ms), as the lab writer's. */
  static final int SESSION_TIMEOUT_MS = 5000;
  /** How long (ms) the first operation waits for the session to connect. */
  static final long CONNECT_WAIT_MS = 10_000;
  /** The node's data, the same in every write. */
  static final byte[] DATA = "zkroll lab client".getBytes(StandardCharsets.UTF_8);

  private final String connect;
  private final String path;
  private final FileOutputStream out;
  private final Object lock = new Object();
  private final CountDownLatch connected = new CountDownLatch(1);
  private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "zkroll-lab-client-op");
    t.setDaemon(true);
    return t;
  });
  // guarded by lock
  private ZooKeeper zk;
  private String state = "none";
  private long acked = 0;
  private long reads = 0;
  /** Send time (ms) of the operation in flight, or -1; which operation it is. */
  private long inFlight = -1;
  private String inFlightOp = "write";
  private long sent = 0;
  /** In the current outage: operations that failed, the send time of the last one counted, the last error. */
  private long outageFailed = 0;
  private long lastFailedAt = -1;
  private String lastError = null;
  private boolean stopped = false;

  ZkrollLabClient(String connect, String path, String outFile) throws IOException {
    this.connect = connect;
    this.path = path;
    this.out = new FileOutputStream(outFile, true);
  }

  // ---- JSON lines ----

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c == '\n') b.append("\\n");
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  /** One line, written whole with one append (the caller holds lock). */
  private void emit(String event, long t, Map<String, Object> fields) {
    StringBuilder b = new StringBuilder("{\"t\":").append(t).append(",\"event\":").append(quote(event));
    for (Map.Entry<String, Object> f : fields.entrySet()) {
      Object v = f.getValue();
      b.append(',').append(quote(f.getKey())).append(':').append(v instanceof Number ? v.toString() : quote(String.valueOf(v)));
    }
    try {
      out.write(b.append("}\n").toString().getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      System.err.println("zkroll lab client: cannot write its log: " + e);
    }
  }

  private Map<String, Object> counts() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("acked", acked);
    m.put("reads", reads);
    return m;
  }

  // ---- outcomes ----

  /**
   * Outcome of one operation sent at `sentAt` (ms): `error` null when answered. A failed or slow
   * operation starts an outage at `sentAt`; an answered one ends it when it is answered.
   */
  private void outcome(long sentAt, String op, String error) {
    long now = System.currentTimeMillis();
    String failed = error != null ? error : now - sentAt >= STALL_MS ? op + " answered after " + (now - sentAt) + " ms" : null;
    if (failed != null) {
      if (!state.equals("error")) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", failed);
        m.put("op", op);
        m.putAll(counts());
        emit("error", sentAt, m);
        outageFailed = 0;
        lastError = null;
      }
      state = "error";
      if (sentAt != lastFailedAt) outageFailed++;
      lastFailedAt = sentAt;
      // (the late answer that ends an outage is no error of its own: the errors before it tell more)
      if (error != null || lastError == null) lastError = failed;
    }
    if (error != null) return;
    if (op.equals("write")) acked++;
    else reads++;
    if (!state.equals("ok")) {
      Map<String, Object> m = counts();
      if (outageFailed > 0) {
        m.put("failed", outageFailed);
        m.put("lastError", lastError);
      }
      emit("ok", now, m);
      outageFailed = 0;
    }
    state = "ok";
  }

  // ---- the operations ----

  private ZooKeeper session() throws IOException {
    synchronized (lock) {
      if (zk == null) {
        final ZooKeeper[] self = new ZooKeeper[1];
        self[0] = zk = new ZooKeeper(connect, SESSION_TIMEOUT_MS, new Watcher() {
          @Override
          public void process(WatchedEvent e) {
            if (e.getState() == Event.KeeperState.SyncConnected) connected.countDown();
            // an expired session never comes back: the next operation opens a new one
            if (e.getState() == Event.KeeperState.Expired) dropSession(self[0]);
          }
        });
      }
      return zk;
    }
  }

  /** Forget session `z` (when it is still the current one) and close it in the background. */
  private void dropSession(ZooKeeper z) {
    synchronized (lock) {
      if (z == null || zk != z) return;
      zk = null;
    }
    closeQuietly(z);
  }

  private static void closeQuietly(final ZooKeeper z) {
    Thread t = new Thread(() -> {
      try {
        z.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "zkroll-lab-client-close");
    t.setDaemon(true);
    t.start();
  }

  private void write(ZooKeeper z) throws KeeperException, InterruptedException {
    try {
      z.setData(path, DATA, -1);
    } catch (KeeperException.NoNodeException e) {
      String parent = path.substring(0, path.lastIndexOf('/'));
      if (!parent.isEmpty()) createIfMissing(z, parent, new byte[0]);
      createIfMissing(z, path, DATA);
    }
  }

  private static void createIfMissing(ZooKeeper z, String p, byte[] data) throws KeeperException, InterruptedException {
    try {
      z.create(p, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
    } catch (KeeperException.NodeExistsException e) {
      // made by an earlier write whose answer was lost (the parent: perhaps by the other Java client)
    }
  }

  private void read(ZooKeeper z) throws KeeperException, InterruptedException {
    byte[] got = z.getData(path, false, null);
    if (!Arrays.equals(got, DATA)) {
      throw new IllegalStateException("getData " + path + " returned " + (got == null ? "no data" : quote(new String(got, StandardCharsets.UTF_8))) + ", not the data written");
    }
  }

  /** One operation on the worker thread: its outcome, the session dropped when it expired. */
  private void perform(long sentAt, boolean isWrite) {
    String op = isWrite ? "write" : "read";
    String error = null;
    ZooKeeper z = null;
    try {
      z = session();
      if (isWrite) write(z);
      else read(z);
    } catch (KeeperException e) {
      error = (isWrite ? "setData " : "getData ") + path + ": " + e.getMessage();
      if (e.code() == KeeperException.Code.SESSIONEXPIRED) dropSession(z);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = op + " interrupted";
    } catch (Exception e) {
      error = op + ": " + e;
    }
    synchronized (lock) {
      inFlight = -1;
      if (!stopped) outcome(sentAt, op, error);
    }
  }

  /** Every 1000/HZ ms: report a stalled operation, or send the next one (writes and reads alternate). */
  private void tick() {
    final long now;
    final boolean isWrite;
    synchronized (lock) {
      // the clock is read under the lock: an `ok` being emitted meanwhile is never later than
      // the next operation's send time (an error after it would sort before it and hide an outage)
      now = System.currentTimeMillis();
      if (stopped) return;
      if (inFlight >= 0) {
        if (now - inFlight >= STALL_MS) outcome(inFlight, inFlightOp, "no answer within " + STALL_MS + " ms");
        return;
      }
      isWrite = sent++ % 2 == 0;
      inFlight = now;
      inFlightOp = isWrite ? "write" : "read";
    }
    worker.execute(() -> perform(now, isWrite));
  }

  private void stop() {
    synchronized (lock) {
      if (stopped) return;
      stopped = true;
      emit("stop", System.currentTimeMillis(), counts());
      if (zk != null) closeQuietly(zk);
    }
    try {
      Thread.sleep(200); // the session's close request, sent on a daemon thread
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The client library's own version string (org.apache.zookeeper.Version, by reflection), else its jar's name. */
  static String libraryVersion() {
    try {
      return String.valueOf(Class.forName("org.apache.zookeeper.Version").getMethod("getFullVersion").invoke(null));
    } catch (Exception | LinkageError e) {
      String jar = String.valueOf(ZooKeeper.class.getProtectionDomain().getCodeSource().getLocation());
      return jar.substring(jar.lastIndexOf('/') + 1);
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
    for (String k : new String[] {"--connect", "--out", "--path", "--release"}) {
      if (!a.containsKey(k)) {
        System.err.println("usage: ZkrollLabClient --connect <servers> --out <file> --path <znode> --release <version>");
        System.exit(2);
      }
    }
    final ZkrollLabClient c = new ZkrollLabClient(a.get("--connect"), a.get("--path"), a.get("--out"));
    Map<String, Object> start = new LinkedHashMap<>();
    start.put("connect", c.connect);
    start.put("path", c.path);
    start.put("hz", HZ);
    start.put("release", a.get("--release"));
    start.put("version", libraryVersion());
    start.put("java", System.getProperty("java.version"));
    Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "zkroll-lab-client-stop"));
    synchronized (c.lock) {
      c.emit("start", System.currentTimeMillis(), start);
    }
    c.session();
    c.connected.await(CONNECT_WAIT_MS, TimeUnit.MILLISECONDS);
    final long period = 1000 / HZ;
    long next = System.currentTimeMillis();
    long beat = next + 60_000;
    for (;;) {
      c.tick();
      long now = System.currentTimeMillis();
      if (now >= beat) {
        synchronized (c.lock) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("state", c.state);
          m.putAll(c.counts());
          c.emit("heartbeat", now, m);
        }
        beat += 60_000;
      }
      next += period;
      if (next < now) next = now; // behind (a stopped JVM): no burst of ticks to catch up
      Thread.sleep(Math.max(0, next - System.currentTimeMillis()));
    }
  }
}
