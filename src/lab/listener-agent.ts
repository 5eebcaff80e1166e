// Reproduces the incident's fault in the lab (RUNBOOK.md §1): the election listener thread of
// a running server stops accepting election connections while the server keeps serving
// clients. A tiny Java agent, built here with the JDK, is attached to the server's JVM and
// suspends its election listener threads (Java 17 still allows Thread.suspend).
// Invariants: lab only (the caller passes a lab host's JVM pid); touches no data; the server
// keeps serving reads and writes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './spec.js';

const AGENT = `import java.lang.instrument.Instrumentation;
public class KillElectionListener {
  public static void agentmain(String args, Instrumentation inst) {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      String n = t.getName();
      // the threads that accept election connections (3.6+: ListenerHandler-<addr>; 3.4/3.5:
      // the Listener itself). A thread blocked in accept() does not die from Thread.stop() until
      // a connection arrives, so it is suspended: alive in name, never accepting again, the
      // socket still bound, the kernel queueing connections (the 3.4.6 symptom).
      if (n.startsWith("ListenerHandler") || n.contains("QuorumCnxManager$Listener") || n.equals("QuorumPeerListener") || n.startsWith("ListenerThread")) {
        System.err.println("zkroll lab: suspending election listener thread " + n);
        t.suspend();
      }
    }
  }
}
`;

const ATTACH = `import com.sun.tools.attach.VirtualMachine;
public class AttachAgent {
  public static void main(String[] a) throws Exception {
    VirtualMachine vm = VirtualMachine.attach(a[0]);
    try { vm.loadAgent(a[1]); } finally { vm.detach(); }
  }
}
`;

/** Build (once) the agent jar and the attacher under `dir`; returns their paths. */
export function buildAgent(dir: string): { jar: string; classes: string } {
  const jar = path.join(dir, 'kill-election-listener.jar');
  const classes = path.join(dir, 'classes');
  if (fs.existsSync(jar) && fs.existsSync(path.join(classes, 'AttachAgent.class'))) return { jar, classes };
  for (const tool of ['javac', 'jar']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new LabError(`lab: ${tool} not found: the fault injection needs a JDK (apt-get install -y default-jdk-headless)`);
    }
  }
  fs.mkdirSync(classes, { recursive: true });
  fs.writeFileSync(path.join(dir, 'KillElectionListener.java'), AGENT);
  fs.writeFileSync(path.join(dir, 'AttachAgent.java'), ATTACH);
  execFileSync('javac', ['-d', classes, path.join(dir, 'KillElectionListener.java'), path.join(dir, 'AttachAgent.java')], { stdio: 'pipe' });
  fs.writeFileSync(path.join(dir, 'MANIFEST.MF'), 'Agent-Class: KillElectionListener\n');
  execFileSync('jar', ['cfm', jar, path.join(dir, 'MANIFEST.MF'), '-C', classes, 'KillElectionListener.class'], { stdio: 'pipe' });
  return { jar, classes };
}

/** Attach the agent to JVM `pid`: its election listener threads stop. */
export function killElectionListener(dir: string, pid: number): void {
  const { jar, classes } = buildAgent(dir);
  try {
    execFileSync('java', ['-cp', classes, 'AttachAgent', String(pid), jar], { stdio: 'pipe', timeout: 30000 });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e);
    throw new LabError(`lab: could not attach to JVM ${pid}: ${err}`);
  }
}
