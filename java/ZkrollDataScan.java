// zkroll's data scan: runs ON the ZooKeeper host, with the host's own JVM, and reads a server's
// dataDir/version-2 and dataLogDir/version-2 where they are: file headers, sizes and checksums.
// It prints one short ASCII line per data file with exactly the facts zkroll's verdict needs
// (src/check/datascan.ts parses them; src/check/datafiles.ts continuity() decides). No data
// file leaves the host, and the answer is at most 1 MiB whatever the data size.
//
// Built with `npm run gen:datascan` (javac --release 8: 3.4 hosts may run Java 8), embedded in
// src/check/datascan-class.ts and sent as the remote command's stdin. One class file, no
// dependencies (not even ZooKeeper's jars): no nested or anonymous classes.
//
// Usage: ZkrollDataScan [--chunk N] [--max-output N] <dataDir> <dataLogDir>
//        ZkrollDataScan [--chunk N] [--max-output N] --files <file>...   (each file judged whole,
//        in order; tests)
// --chunk: the most bytes one read asks for (default 65536; tests use 1, 7, 13 for boundaries).
// --max-output: a lower limit than 1 MiB on the answer (tests of the limit).
//
// Line protocol (version 1), one line per fact, fields separated by one space; the last field
// of `free`, `gzip`, `snappy-block` and `error` is free text (bytes outside 0x20-0x7e and the
// backslash written as a backslash, "u" and 4 hex digits / two backslashes):
//   zkroll-datascan 1                              always the first line
//   free snap|log <bytes> <dir>                    usable bytes where dataDir / dataLogDir is
//                                                  (its nearest existing ancestor when missing)
//   snap <name> <size> ok                          ZKSN header, "/" seal and Adler32 all hold
//   snap <name> <size> skipped                     older than a valid snapshot: not read
//   snap <name> <size> short <n>                   only n (decompressed) bytes
//   snap <name> <size> magic                       no ZKSN header
//   snap <name> <size> seal                        the end-of-snapshot seal is missing
//   snap <name> <size> checksum <stored> <computed>  hex
//   snap <name> <size> gzip <message>              a .gz that GZIPInputStream cannot read
//   snap <name> <size> snappy-header <n|->         n: shorter than 16 bytes; -: wrong magic
//   snap <name> <size> snappy-length <len> <at>    a block length out of 1..4 MiB, at byte at
//   snap <name> <size> snappy-block <at> <message> a raw Snappy block that does not decode
//   snap <name> <size> snappy-cut <n>              the last block is cut (n bytes of it)
//   log <name> <size> ok <first|-> <last|-> <txns> every whole entry read (hex zxids)
//   log <name> <size> crc <first|-> <last|-> <txns> <offset>  a whole entry at byte offset
//                                                  fails its CRC; the scan stops there
//   log <name> <size> header                       header fine; entries not read (older than
//                                                  the log that holds the valid snapshot + 1)
//   log <name> <size> noheader <bytes> <magic|->   shorter than the 16-byte header (magic -),
//                                                  or a wrong magic (8 hex digits)
//   error <message>                                a file or directory could not be read (an
//                                                  I/O error, not damage); nothing follows but end
//   end <lines> <bytesRead>                        lines: snap + log lines; bytesRead: from disk
// <size> is the file's length (bytes) as listed. Snapshots are listed newest first, logs oldest
// first. A file that vanishes between listing and reading (autopurge) gets no line.
//
// What is read (a restart stays cheap on GB data): snapshots newest first until the first valid
// one (and any other of the same zxid); older ones are not opened. Every log's 16-byte header;
// the entries only of the log that holds the valid snapshot's zxid + 1 (the last one starting
// at or before it) and every later log, or of all logs when there is no valid snapshot or no
// log starts at or before it. A log's scan ends at its preallocated zeros. Files are streamed
// in small buffers (-Xmx64m is enough for any size: at most two 4 MiB snappy blocks are held);
// nothing is ever written.
//
// ZooKeeper facts used (apache/zookeeper master 53a78e36, release-3.4.6/3.4.14):
// - persistence/FileSnap.java serialize: ZKSN header, the tree, then the Adler32 of everything
//   before it as a long, and the "/" seal (an int 1 and the byte '/': the last 13 bytes);
//   SnapStream.checkSealIntegrity / isValidSnapshot.
// - persistence/SnapStream.java: the stream mode is the text after the last "." (gz, snappy,
//   anything else plain), compared case-insensitively; GZIPInputStream / snappy-java's
//   SnappyInputStream under a CheckedInputStream(Adler32): checksum and seal are over the
//   DEcompressed bytes. snappy-java's SnappyCodec framing: the 8-byte magic
//   {0x82,'S','N','A','P','P','Y',0}, two int32 versions, then [int32 length][raw Snappy block].
// - persistence/Util.getZxidFromName: the zxid is the second "."-separated part, in hex.
// - persistence/FileTxnLog.java: FileHeader (magic ZKLG, version, dbid: 16 bytes), then entries
//   [long crc (Adler32 of the txn bytes)][int len][txn][0x42]; Util.readTxnBytes ends the log at
//   a zero length (preallocated space) or a torn entry without its end byte; a whole entry whose
//   CRC fails makes FileTxnIterator.next throw "CRC check failed". TxnHeader: clientId (8),
//   cxid (4), zxid (8): the zxid is at bytes 12..19 of the txn.
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.Adler32;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

public final class ZkrollDataScan {
    static final int ZKSN = 0x5a4b534e;
    static final int ZKLG = 0x5a4b4c47;
    /** The longest log entry a scan reads (bytes); a longer length is damage and ends the scan. */
    static final int MAX_ENTRY_BYTES = 64 << 20;
    /** The largest snappy block, compressed or not (bytes; snappy-java writes 32 KiB ones). */
    static final int MAX_SNAPPY_BLOCK = 4 << 20;
    /** The most bytes of answer (the whole stdout). */
    static final int MAX_OUTPUT = 1 << 20;
    /** The most bytes of answer for this run (--max-output, tests: at most MAX_OUTPUT). */
    static int maxOutput = MAX_OUTPUT;
    static final byte[] SNAPPY_MAGIC = {(byte) 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    static final Pattern SNAP = Pattern.compile("snapshot\\.([0-9a-f]+)(?:\\.(gz|snappy))?", Pattern.CASE_INSENSITIVE);
    static final Pattern LOG = Pattern.compile("log\\.([0-9a-f]+)", Pattern.CASE_INSENSITIVE);

    /** The most bytes one read asks for. */
    static int chunk = 65536;
    static byte[] buf;
    static long bytesRead;
    static int fileLines;
    static final StringBuilder out = new StringBuilder();
    static boolean overflow;

    // the snapshot being checked (one at a time): its first 4 bytes, the last 13 seen so far,
    // the Adler32 of everything before them, and the byte count
    static final Adler32 sum = new Adler32();
    static final byte[] head = new byte[4];
    static final byte[] tail = new byte[13];
    static int tailLen;
    static long total;
    // snappy blocks: compressed and decompressed, grown as needed (at most 4 MiB each)
    static byte[] packed = new byte[0];
    static byte[] plain = new byte[0];
    static int plainLen;

    public static void main(String[] args) throws IOException {
        int code = run(args);
        PrintStream o = System.out;
        o.write(out.toString().getBytes("US-ASCII"));
        o.flush();
        System.exit(code);
    }

    static int run(String[] args) {
        int i = 0;
        for (; i + 1 < args.length && (args[i].equals("--chunk") || args[i].equals("--max-output")); i += 2) {
            if (args[i].equals("--chunk")) chunk = Integer.parseInt(args[i + 1]);
            else maxOutput = Math.min(MAX_OUTPUT, Integer.parseInt(args[i + 1]));
        }
        boolean files = i < args.length && args[i].equals("--files");
        if (chunk < 1 || (!files && args.length - i != 2)) return usage();
        buf = new byte[chunk];
        try {
            line("zkroll-datascan 1");
            if (files) {
                for (int k = i + 1; k < args.length; k++) judge(new File(args[k]));
            } else {
                scan(new File(args[i]), new File(args[i + 1]));
            }
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            if (overflow) {
                out.setLength(0);
                fileLines = 0;
                out.append("zkroll-datascan 1\n");
                why = "the answer would be longer than 1 MiB: too many data files in version-2; purge old snapshots and logs (autopurge, zkCleanup.sh)";
            }
            out.append("error ").append(text(why)).append('\n');
        }
        out.append("end ").append(fileLines).append(' ').append(bytesRead).append('\n');
        return 0;
    }

    static int usage() {
        System.err.println("usage: ZkrollDataScan [--chunk N] [--max-output N] <dataDir> <dataLogDir> | [...] --files <file>...");
        return 2;
    }

    /**
     * Append a line; one that would leave less than 8 KiB of maxOutput (room for an error and the
     * end line) stops the scan: an IOException that run() knows by `overflow`.
     */
    static void line(String s) throws IOException {
        if (out.length() + s.length() + 8192 > maxOutput) {
            overflow = true;
            throw new IOException("the answer would be longer than 1 MiB");
        }
        out.append(s).append('\n');
    }

    static void fileLine(String s) throws IOException {
        line(s);
        fileLines++;
    }

    /** Free text for the last field: printable ASCII, the rest escaped. */
    static String text(String s) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '\\') b.append("\\\\");
            else if (c >= 0x20 && c <= 0x7e) b.append(c);
            else b.append(String.format("\\u%04x", (int) c));
        }
        return b.toString();
    }

    // ---- the directories ----

    static void scan(File dataDir, File dataLogDir) throws IOException {
        line("free snap " + usable(dataDir) + " " + text(dataDir.getPath()));
        line("free log " + usable(dataLogDir) + " " + text(dataLogDir.getPath()));
        File snapDir = new File(dataDir, "version-2");
        File logDir = new File(dataLogDir, "version-2");
        String[] snaps = names(snapDir, SNAP, true);
        String[] logs = names(logDir, LOG, false);
        BigInteger valid = null;
        for (String name : snaps) {
            File f = new File(snapDir, name);
            BigInteger z = zxid(SNAP, name);
            if (valid != null && z.compareTo(valid) < 0) {
                fileLine("snap " + name + " " + f.length() + " skipped");
                continue;
            }
            String v = snapshot(f, name);
            if (v == null) continue;
            fileLine("snap " + name + " " + f.length() + " " + v);
            if (valid == null && v.equals("ok")) valid = z;
        }
        int from = 0;
        if (valid != null) {
            BigInteger need = valid.add(BigInteger.ONE);
            for (int k = 0; k < logs.length; k++) if (zxid(LOG, logs[k]).compareTo(need) <= 0) from = k;
        }
        for (int k = 0; k < logs.length; k++) {
            File f = new File(logDir, logs[k]);
            String v = log(f, k >= from);
            if (v != null) fileLine("log " + logs[k] + " " + f.length() + " " + v);
        }
    }

    /** Usable bytes on the file system of dir (its nearest existing ancestor): df's Available. */
    static long usable(File dir) {
        File d = dir.getAbsoluteFile();
        while (d != null && !d.exists()) d = d.getParentFile();
        return d == null ? 0 : d.getUsableSpace();
    }

    /** The names in dir that match p (none when dir does not exist), newest first or oldest first. */
    static String[] names(File dir, Pattern p, boolean newestFirst) throws IOException {
        if (!dir.exists()) return new String[0];
        String[] all = dir.list();
        if (all == null) throw new IOException(dir.getPath() + ": cannot be listed");
        final Map<String, BigInteger> zxids = new HashMap<String, BigInteger>();
        for (String n : all) if (p.matcher(n).matches()) zxids.put(n, zxid(p, n));
        String[] r = zxids.keySet().toArray(new String[0]);
        final int sign = newestFirst ? -1 : 1;
        Arrays.sort(r, (a, b) -> sign * zxids.get(a).compareTo(zxids.get(b)));
        return r;
    }

    static BigInteger zxid(Pattern p, String name) {
        Matcher m = p.matcher(name);
        m.matches();
        return new BigInteger(m.group(1), 16);
    }

    /** --files: each file judged whole by its name, in the order given. */
    static void judge(File f) throws IOException {
        String name = f.getName();
        boolean isSnap = SNAP.matcher(name).matches();
        String v = isSnap ? snapshot(f, name) : LOG.matcher(name).matches() ? log(f, true) : null;
        if (v == null) throw new IOException(f.getPath() + ": not a snapshot or log name, or gone");
        fileLine((isSnap ? "snap " : "log ") + name + " " + f.length() + " " + v);
    }

    /** The file opened, or null when it vanished after the listing; an I/O error otherwise. */
    static FileInputStream open(File f) throws IOException {
        try {
            return new FileInputStream(f);
        } catch (FileNotFoundException e) {
            if (!f.exists()) return null;
            throw new IOException(f.getPath() + ": " + e.getMessage());
        }
    }

    /** Close, counting the bytes read from disk. */
    static void close(FileInputStream in) throws IOException {
        bytesRead += in.getChannel().position();
        in.close();
    }

    /** Reads up to len bytes (fewer only at the end of the stream); how many were read. */
    static int readFully(InputStream in, byte[] b, int off, int len) throws IOException {
        int got = 0;
        while (got < len) {
            int n = in.read(b, off + got, Math.min(chunk, len - got));
            if (n < 0) break;
            got += n;
        }
        return got;
    }

    static int int32(byte[] b, int off) {
        return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
    }

    static long int64(byte[] b, int off) {
        return ((long) int32(b, off) << 32) | (int32(b, off + 4) & 0xffffffffL);
    }

    // ---- snapshots ----

    /** The verdict fields of one snapshot (by its name's compression), or null when it vanished. */
    static String snapshot(File f, String name) throws IOException {
        Matcher m = SNAP.matcher(name);
        m.matches();
        String ext = m.group(2) == null ? "" : m.group(2).toLowerCase();
        FileInputStream in = open(f);
        if (in == null) return null;
        try {
            if (ext.equals("gz")) return gzip(in);
            if (ext.equals("snappy")) return snappy(new BufferedInputStream(in, chunk));
            return plainSnapshot(new BufferedInputStream(in, chunk));
        } finally {
            close(in);
        }
    }

    static String plainSnapshot(InputStream in) throws IOException {
        snapStart();
        int n;
        while ((n = in.read(buf, 0, chunk)) >= 0) snapPush(buf, 0, n);
        return snapFinish();
    }

    /** A .gz snapshot: damage of the gzip layer is the snapshot's verdict; an I/O error is thrown. */
    static String gzip(InputStream file) throws IOException {
        snapStart();
        try {
            GZIPInputStream in = new GZIPInputStream(file, chunk);
            int n;
            while ((n = in.read(buf, 0, chunk)) >= 0) snapPush(buf, 0, n);
        } catch (ZipException | EOFException e) {
            return "gzip " + text(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        return snapFinish();
    }

    /** A .snappy snapshot: snappy-java's header, then [int32 length][raw Snappy block] blocks. */
    static String snappy(InputStream in) throws IOException {
        byte[] h = new byte[16];
        int n = readFully(in, h, 0, 16);
        if (n < 16) return "snappy-header " + n;
        for (int k = 0; k < SNAPPY_MAGIC.length; k++) if (h[k] != SNAPPY_MAGIC[k]) return "snappy-header -";
        snapStart();
        long at = 16;
        for (;;) {
            n = readFully(in, h, 0, 4);
            if (n == 0) break;
            if (n < 4) return "snappy-cut " + n;
            int len = int32(h, 0);
            if (len <= 0 || len > MAX_SNAPPY_BLOCK) return "snappy-length " + len + " " + at;
            if (packed.length < len) packed = new byte[len];
            n = readFully(in, packed, 0, len);
            if (n < len) return "snappy-cut " + (4 + n);
            String bad = unsnappy(packed, len);
            if (bad != null) return "snappy-block " + at + " " + bad;
            snapPush(plain, 0, plainLen);
            at += 4 + len;
        }
        return snapFinish();
    }

    /**
     * Decompress one raw Snappy block (format_description.txt of google/snappy) into `plain`:
     * a varint length, then literals and copies; strict like the reference decoder (no copy
     * before the start, no write past the stated length, exactly that length). Null or why not.
     */
    static String unsnappy(byte[] c, int end) {
        int ip = 0;
        long want = 0;
        for (int shift = 0;; shift += 7) {
            if (ip >= end || shift > 28) return "a bad length varint";
            int b = c[ip++] & 0xff;
            want |= (long) (b & 0x7f) << shift;
            if (b < 0x80) break;
        }
        if (want > MAX_SNAPPY_BLOCK) return "its uncompressed length " + want + " is more than " + MAX_SNAPPY_BLOCK;
        int size = (int) want;
        if (plain.length < size) plain = new byte[size];
        int op = 0;
        while (ip < end) {
            int tag = c[ip++] & 0xff;
            int kind = tag & 3;
            long len;
            long offset = 0;
            if (kind == 0) {
                len = (tag >>> 2) + 1;
                if (len > 60) {
                    int extra = (int) len - 60;
                    if (ip + extra > end) return "a literal length past the end at " + ip;
                    len = 0;
                    for (int k = 0; k < extra; k++) len |= (long) (c[ip + k] & 0xff) << (8 * k);
                    len += 1;
                    ip += extra;
                }
                if (ip + len > end || op + len > size) return "a literal past the end at " + ip;
                System.arraycopy(c, ip, plain, op, (int) len);
                ip += (int) len;
                op += (int) len;
                continue;
            }
            int extra = kind == 1 ? 1 : kind == 2 ? 2 : 4;
            if (ip + extra > end) return "a copy past the end at " + ip;
            if (kind == 1) {
                len = 4 + ((tag >>> 2) & 7);
                offset = ((tag >>> 5) << 8) | (c[ip] & 0xff);
            } else {
                len = (tag >>> 2) + 1;
                for (int k = 0; k < extra; k++) offset |= (long) (c[ip + k] & 0xff) << (8 * k);
            }
            ip += extra;
            if (offset == 0 || offset > op || op + len > size) return "a copy out of range at " + ip;
            for (int k = 0; k < len; k++, op++) plain[op] = plain[op - (int) offset];
        }
        if (op != size) return "it decompresses to " + op + " bytes, not the " + size + " it states";
        plainLen = size;
        return null;
    }

    static void snapStart() {
        sum.reset();
        tailLen = 0;
        total = 0;
    }

    /** Feed decompressed snapshot bytes: everything but the last 13 seen so far is checksummed. */
    static void snapPush(byte[] b, int off, int len) {
        for (int k = 0; k < len && total + k < 4; k++) head[(int) total + k] = b[off + k];
        total += len;
        if (len >= 13) {
            sum.update(tail, 0, tailLen);
            sum.update(b, off, len - 13);
            System.arraycopy(b, off + len - 13, tail, 0, 13);
            tailLen = 13;
            return;
        }
        int over = tailLen + len - 13;
        if (over > 0) {
            sum.update(tail, 0, over);
            System.arraycopy(tail, over, tail, 0, tailLen - over);
            tailLen -= over;
        }
        System.arraycopy(b, off, tail, tailLen, len);
        tailLen += len;
    }

    static String snapFinish() {
        if (total < 16 + 13) return "short " + total;
        if (int32(head, 0) != ZKSN) return "magic";
        if (int32(tail, 8) != 1 || tail[12] != '/') return "seal";
        long stored = int64(tail, 0);
        long actual = sum.getValue();
        if (stored != actual) return "checksum " + Long.toHexString(stored) + " " + Long.toHexString(actual);
        return "ok";
    }

    // ---- transaction logs ----

    /** The log's fields: its header, and its entries when `entries`; null when it vanished. */
    static String log(File f, boolean entries) throws IOException {
        FileInputStream file = open(f);
        if (file == null) return null;
        try {
            InputStream in = new BufferedInputStream(file, chunk);
            byte[] h = new byte[16];
            int n = readFully(in, h, 0, 16);
            if (n < 16) return "noheader " + n + " -";
            if (int32(h, 0) != ZKLG) return "noheader " + f.length() + " " + String.format("%08x", int32(h, 0));
            return entries ? entries(in) : "header";
        } finally {
            close(file);
        }
    }

    /** Entries until the preallocated zeros, a torn entry or a CRC failure. */
    static String entries(InputStream in) throws IOException {
        byte[] h = new byte[12];
        Adler32 crc = new Adler32();
        long pos = 16;
        long first = 0;
        long last = 0;
        long txns = 0;
        for (;;) {
            if (readFully(in, h, 0, 12) < 12) break;
            long stored = int64(h, 0);
            int len = int32(h, 8);
            if ((len == 0 && stored == 0) || len < 20 || len > MAX_ENTRY_BYTES) break;
            crc.reset();
            long zxid = 0;
            int got = 0;
            while (got < len) {
                int n = in.read(buf, 0, Math.min(chunk, len - got));
                if (n < 0) break;
                crc.update(buf, 0, n);
                for (int k = Math.max(0, 12 - got); k < n && got + k < 20; k++) zxid = (zxid << 8) | (buf[k] & 0xff);
                got += n;
            }
            if (got < len || in.read() != 0x42) break;
            if (crc.getValue() != stored) return "crc " + hex(txns, first) + " " + hex(txns, last) + " " + txns + " " + pos;
            if (txns == 0) first = zxid;
            last = zxid;
            txns++;
            pos += 12 + len + 1;
        }
        return "ok " + hex(txns, first) + " " + hex(txns, last) + " " + txns;
    }

    static String hex(long txns, long zxid) {
        return txns == 0 ? "-" : Long.toHexString(zxid);
    }
}
