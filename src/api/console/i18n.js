// The console's two languages. English is the source text; ZH maps each English string to its Chinese. The choice
// is kept in localStorage; switching reloads the page, so every module renders in the new language from the start.
// Static text in the HTML is translated in place (text nodes, placeholders, titles, aria-labels); scripts call t() on
// theirs. A string with values in it is keyed by its template: t('Cannot load calls: {error}', { error }).
// One English word with two senses gets two keys: the PBX is "connected" (已连接), a dialled call is "answered" (接通).

const STORAGE_KEY = 'callpilot.lang';

/** English source string -> Chinese. Exported for the test that checks no English is left in Chinese mode. */
export const TRANSLATIONS = Object.freeze({
  // header and tabs
  Calls: '通话',
  Campaigns: '外呼任务',
  QA: '质检',
  Flows: '流程',
  'Sign out': '退出登录',
  '🎙 Talk to the bot': '🎙 与机器人通话',
  '⏹ Hang up': '⏹ 挂断',
  'Bot language': '机器人语言',
  'UI language': '界面语言',
  ready: '就绪',
  'server unreachable': '服务器无法访问',
  'not ready: {checks}': '未就绪：{checks}',
  'callpilot console': 'callpilot 控制台',
  'PBX connections': 'PBX 连接',
  '{name} ({role})': '{name}（{role}）',
  '{name} ({role}, full numbers)': '{name}（{role}，可看完整号码）',
  admin: '管理员',
  operator: '操作员',
  auditor: '审计员',
  'Cannot load calls: {error}': '无法加载通话：{error}',
  'Cannot load call {id}: {error}': '无法加载通话 {id}：{error}',
  // talking to the bot from the browser
  'opening microphone…': '正在打开麦克风…',
  'connecting…': '正在连接…',
  'connection error': '连接错误',
  'closed: {reason}': '连接已关闭：{reason}',
  'on call {id}': '通话中 {id}',
  'error: {message}': '错误：{message}',
  'call ended ({reason})': '通话已结束（{reason}）',
  'hung up': '已挂断',
  'cannot start: {error}': '无法开始：{error}',
  // call list
  all: '全部',
  active: '进行中',
  ended: '已结束',
  'in + out': '呼入 + 呼出',
  inbound: '呼入',
  outbound: '呼出',
  'number ends with': '号码尾号',
  'Number ends with': '号码尾号',
  'Status filter': '状态筛选',
  Direction: '方向',
  Since: '起始日期',
  Until: '截止日期',
  'Endpoint or dial string': '号码或拨号串',
  '⬇ in': '⬇ 呼入',
  '⬆ out': '⬆ 呼出',
  flow: '流程',
  disposition: '结果',
  Search: '搜索',
  Started: '开始时间',
  Dir: '方向',
  Number: '号码',
  Flow: '流程',
  Status: '状态',
  Disposition: '结果',
  Length: '时长',
  Newest: '最新',
  'Older ›': '更早 ›',
  'Select a call to see its transcript.': '选择一个通话查看转写。',
  'No calls yet. Press “Talk to the bot” or place a call.': '还没有通话。点击“与机器人通话”或发起外呼。',
  'Place a test call': '拨打测试电话',
  'default flow': '默认流程',
  'default language': '默认语言',
  Call: '通话',
  Live: '实时',
  'Live call': '实时通话',
  // call page
  PBX: 'PBX',
  From: '主叫',
  To: '被叫',
  Language: '语言',
  Ended: '结束时间',
  Hangup: '挂机',
  '{cause} by {side}': '{cause}（{side}挂机）',
  pbx: 'PBX',
  'median {median} ms, max {max} ms': '中位数 {median} ms，最大 {max} ms',
  mixed: '混音',
  Variables: '变量',
  'Turn latency': '轮次延迟',
  'No recordings for this call.': '此通话没有录音。',
  Timeline: '时间轴',
  Transcript: '转写',
  Events: '事件',
  caller: '客户',
  bot: '机器人',
  'bot (greeting)': '机器人（开场白）',
  'caller (keypad)': '客户（按键）',
  'caller (silent)': '客户（无应答）',
  'caller (not recognized)': '客户（未识别）',
  'barge-in': '打断',
  'barge-in after {ms} ms': '{ms} ms 后打断',
  'continues turn {seq}': '接上第 {seq} 轮',
  'barge-in, {ms} ms of the prompt heard': '打断，提示音已播放 {ms} ms',
  'QA {rule}': '质检 {rule}',
  'QA {rule} ({leg}, {severity}): {text}': '质检 {rule}（{leg}，{severity}）：{text}',
  'QA {rule} ({severity}): {text}': '质检 {rule}（{severity}）：{text}',
  'heard: {text}': '已听到：{text}',
  'ended: {disposition}': '已结束：{disposition}',
  'barge-in / QA': '打断 / 质检',
  'No turns recorded.': '没有对话记录。',
  'No timing recorded for this call.': '此通话没有时间信息。',
  'Show full numbers (audited)': '显示完整号码（记入审计）',
  'Numbers are masked for your role.': '您的角色只能看到脱敏号码。',
  'Full numbers shown; this read is in the audit log.': '已显示完整号码；本次查看已记入审计日志。',
  '🎧 Listen in': '🎧 监听',
  '⏹ Stop listening': '⏹ 停止监听',
  listening: '监听中',
  stopped: '已停止',
  'call ended': '通话已结束',
  // QA
  'QA (质检)': '质检',
  'CSV export': '导出 CSV',
  rule: '规则',
  'any severity': '任意级别',
  critical: '严重',
  major: '重要',
  minor: '一般',
  info: '提示',
  call: '整通通话',
  'Cannot load QA: {error}': '无法加载质检：{error}',
  '{label}: {key}': '{label}：{key}',
  Show: '查询',
  'All rules': '全部规则',
  Hits: '命中',
  Found: '发现时间',
  Rule: '规则',
  Severity: '级别',
  Leg: '说话方',
  'In recording': '录音位置',
  Text: '内容',
  Score: '扣分',
  'Per rule': '按规则',
  'Per severity': '按级别',
  'Per flow': '按流程',
  More: '更多',
  'No QA hits in this period.': '该时段没有质检命中。',
  // flows
  Version: '版本',
  Steps: '步骤',
  Description: '说明',
  'Any waiting step': '任意等待中的步骤',
  asks: '提问',
  'moves on': '跳转',
  webhook: 'Webhook',
  ends: '结束',
  transfers: '转人工',
  start: '起点',
  'No flows are loaded (see': '没有加载任何流程（见配置项',
  ').': '）。',
  '{file} · version {version}': '{file} · 版本 {version}',
  'Cannot load flows: {error}': '无法加载流程：{error}',
  // PBX
  connected: '已连接',
  disconnected: '未连接',
  'no PBX configured': '未配置 PBX',
  'PBX status unknown': 'PBX 状态未知',
  'placing…': '正在呼叫…',
  'Placed {id} to {to}': '已呼叫 {id}，被叫 {to}',
  'the endpoint': '该号码',
  open: '打开',
  'Cannot place the call: {error}': '无法发起呼叫：{error}',
  // campaigns
  Name: '名称',
  State: '状态',
  Progress: '进度',
  Dialled: '已拨',
  Answered: '接通',
  'Answer rate': '接通率',
  Start: '开始',
  Pause: '暂停',
  Resume: '继续',
  Stop: '停止',
  draft: '草稿',
  running: '运行中',
  paused: '已暂停',
  finished: '已完成',
  dialing: '拨打中',
  unknown: '未知',
  human: '真人',
  machine: '答录机',
  'Read-only for the {role} role.': '{role}角色只读。',
  'Cannot load campaigns: {error}': '无法加载外呼任务：{error}',
  'Cannot load campaign {id}: {error}': '无法加载外呼任务 {id}：{error}',
  'The campaign is {state}.': '任务{state}。',
  'Cannot start: {error}': '无法开始：{error}',
  'Cannot pause: {error}': '无法暂停：{error}',
  'Cannot resume: {error}': '无法继续：{error}',
  'Cannot stop: {error}': '无法停止：{error}',
  '{id} · flow {flow} · profile {profile} · trunk {trunk} at {cps} cps · at most {max} calls · priority {priority}':
    '{id} · 流程 {flow} · 外呼策略 {profile} · 中继 {trunk}，{cps} cps · 最多 {max} 路并发 · 优先级 {priority}',
  'No campaigns yet. Create one with': '还没有外呼任务。创建方法：',
  or: '或',
  'Controls are for operators and admins.': '只有操作员和管理员可以控制任务。',
  Outcomes: '结果分布',
  'No attempt has ended yet.': '还没有结束的拨打。',
  'Latest attempts': '最近拨打',
  Created: '创建时间',
  Try: '次数',
  Verdict: '判定',
  'Numbers are masked; full numbers only through the API with the unmask grant (audited).': '号码已脱敏；完整号码只能通过具有完整号码查看授权的 API 获取（记入审计）。',
  contacts: '联系人',
  pending: '待拨',
  'dialing now': '正在拨打',
  done: '已完成',
  'blocked (DNC, caps, role)': '已拦截（免打扰、频次、角色）',
  dialled: '已拨',
  answered: '接通',
  'answer rate': '接通率',
  'avg handle time': '平均通话时长',
  'attempts left': '剩余拨打',
  'next attempt': '下次拨打',
  live: '实时',
  // sign-in page
  'API token': 'API 令牌',
  'callpilot — sign in': 'callpilot — 登录',
  'Sign in': '登录',
  'Sign-in failed': '登录失败',
  'No token yet? On the server run': '还没有令牌？请在服务器上运行',
  '(an admin can also create one in the API). The token is exchanged for a session cookie; it is not kept in this browser.':
    '（管理员也可以通过 API 创建）。令牌只用来换取会话 Cookie，不会保存在浏览器中。',
});
const ZH = TRANSLATIONS;

function savedLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch {
    // Storage blocked: the browser's language decides.
  }
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export const uiLang = savedLang();

/**
 * The text in the UI language; English (the key) where no translation exists. `{name}` in the text is replaced by
 * `values[name]` after the look-up, so the Chinese can put the values where Chinese word order wants them.
 */
export function t(text, values) {
  const template = uiLang === 'zh' ? (ZH[text] ?? text) : text;
  if (!values) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** Translates the page's static text: text nodes whose trimmed text is in the table, placeholders, titles, aria-labels. */
function translateStatic(root) {
  if (uiLang === 'en') return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    // Keyed by the text with its white space folded: the HTML wraps long sentences over lines.
    const text = node.nodeValue.trim().replace(/\s+/g, ' ');
    if (!text || !ZH[text] || node.parentElement?.closest('script, style, code')) continue;
    const [lead] = /^\s*/.exec(node.nodeValue);
    const [trail] = /\s*$/.exec(node.nodeValue);
    node.nodeValue = `${lead}${ZH[text]}${trail}`;
  }
  for (const element of root.querySelectorAll('[placeholder], [title], [aria-label]')) {
    for (const name of ['placeholder', 'title', 'aria-label']) {
      const value = element.getAttribute(name);
      if (value && ZH[value]) element.setAttribute(name, ZH[value]);
    }
  }
}

function main() {
  document.documentElement.lang = uiLang === 'zh' ? 'zh-CN' : 'en';
  translateStatic(document.body);
  document.title = t(document.title);
  const select = document.querySelector('#ui-lang');
  if (!select) return;
  select.value = uiLang;
  select.addEventListener('change', () => {
    try {
      localStorage.setItem(STORAGE_KEY, select.value);
    } catch {
      return;
    }
    location.reload();
  });
}

main();
