// The crash matrix's scenarios: a plan on its lab, the hosts whose client ports the watcher
// follows, the connect strings of the old and the new ensemble, and the end state a finished run
// must leave. `incident`: plans/codis-incident.yaml (3.4.6 → 3.4.13, rolling restarts);
// `reconfig`: plans/codis-incident-reconfig.yaml (3.8.0 → 3.9.3, membership: reconfig).
import {
  assertIncidentEndState,
  assertReconfigEndState,
  incident,
  INCIDENT_CONNECT,
  OLD_INCIDENT_CONNECT,
  reconfigPlan,
  RECONFIG_CLUSTER,
  RECONFIG_CONNECT,
  RECONFIG_OLD_CONNECT,
} from '../lab/helpers.js';

export interface Scenario {
  plan: string;
  cluster: string;
  /** Every host of the plan (the temporary server's too). */
  hosts: string[];
  temporary: string;
  oldConnect: string;
  newConnect: string;
  /** Throws naming what does not hold; `before` is the tree under /lab before the run. */
  endState: (before: Map<string, string>) => Promise<void>;
}

const hostsOf = (net: string) => [1, 6, 7, 8, 9, 10].map((h) => `${net}.${h}`);

export const SCENARIOS: Record<string, Scenario> = {
  incident: {
    plan: incident,
    cluster: 'codis-incident',
    hosts: hostsOf('127.0.10'),
    temporary: '127.0.10.1',
    oldConnect: OLD_INCIDENT_CONNECT,
    newConnect: INCIDENT_CONNECT,
    endState: assertIncidentEndState,
  },
  reconfig: {
    plan: reconfigPlan,
    cluster: RECONFIG_CLUSTER,
    hosts: hostsOf('127.0.40'),
    temporary: '127.0.40.1',
    oldConnect: RECONFIG_OLD_CONNECT,
    newConnect: RECONFIG_CONNECT,
    endState: (before) => assertReconfigEndState(before),
  },
};
