import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** CPU time and resident memory of one process, from /proc. */
export interface ProcSample {
  /** user + system CPU time, in clock ticks (threads included: ASR/TTS workers are threads of the server). */
  cpuTicks: number;
  rssBytes: number;
}

/** Parses /proc/<pid>/stat. The command name may hold spaces and parentheses, so fields are counted after the last ')'. */
export function parseProcStat(text: string): { ppid: number; cpuTicks: number } {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('unexpected /proc/<pid>/stat format');
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc/<pid>/stat format');
  return { ppid, cpuTicks: utime + stime };
}

/** VmRSS from /proc/<pid>/status, in bytes (0 for a zombie, which has no VmRSS line). */
export function parseVmRss(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Clock ticks per second for /proc CPU times (USER_HZ, 100 on Linux almost everywhere). */
export function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/**
 * The process and all its descendants: if the server ever forks helpers (a TTS binary, a model downloader),
 * their CPU and memory are the server's cost too.
 */
export function sampleProcessTree(rootPid: number): ProcSample | undefined {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      parents.set(Number(name), parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8')).ppid);
    } catch {
      // The process ended between readdir and read.
    }
  }
  if (!parents.has(rootPid)) return undefined;
  const tree = new Set<number>([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let cpuTicks = 0;
  let rssBytes = 0;
  for (const pid of tree) {
    try {
      cpuTicks += parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuTicks;
      rssBytes += parseVmRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      // Ended meanwhile.
    }
  }
  return { cpuTicks, rssBytes };
}

/** CPU use between two samples, in percent of one core (200 % = both cores of a 2-core machine). */
export function cpuPercent(a: ProcSample, b: ProcSample, wallMs: number, ticksPerSecond: number): number {
  if (wallMs <= 0) return 0;
  return ((b.cpuTicks - a.cpuTicks) / ticksPerSecond / (wallMs / 1000)) * 100;
}

/** Samples a process tree at a fixed interval; `window` gives CPU % and peak RSS between two marks. */
export interface ProcSampler {
  /** Take a sample now and remember it under `name`. */
  mark(name: string): ProcSample | undefined;
  /** CPU % between two marks, and the highest RSS seen between them. */
  window(from: string, to: string): { cpuPercent: number; peakRssBytes: number; meanRssBytes: number; peakCpuPercent: number } | undefined;
  stop(): void;
}

export function startProcSampler(pid: number, intervalMs: number): ProcSampler {
  const ticks = clockTicksPerSecond();
  const series: { at: number; s: ProcSample }[] = [];
  const marks = new Map<string, { at: number; s: ProcSample }>();
  const take = (): { at: number; s: ProcSample } | undefined => {
    const s = sampleProcessTree(pid);
    if (!s) return undefined;
    const entry = { at: performance.now(), s };
    series.push(entry);
    return entry;
  };
  take();
  const timer = setInterval(take, intervalMs);
  timer.unref();
  return {
    mark(name) {
      const e = take();
      if (e) marks.set(name, e);
      return e?.s;
    },
    window(from, to) {
      const a = marks.get(from);
      const b = marks.get(to);
      if (!a || !b) return undefined;
      const inside = series.filter((e) => e.at >= a.at && e.at <= b.at);
      let peakCpu = 0;
      for (let i = 1; i < inside.length; i++) {
        peakCpu = Math.max(peakCpu, cpuPercent(inside[i - 1]!.s, inside[i]!.s, inside[i]!.at - inside[i - 1]!.at, ticks));
      }
      const rss = inside.map((e) => e.s.rssBytes);
      return {
        cpuPercent: cpuPercent(a.s, b.s, b.at - a.at, ticks),
        peakRssBytes: Math.max(...rss),
        meanRssBytes: rss.reduce((x, y) => x + y, 0) / rss.length,
        peakCpuPercent: peakCpu,
      };
    },
    stop() {
      clearInterval(timer);
    },
  };
}
