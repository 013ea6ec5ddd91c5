import type { Lang } from '../types.ts';

/** An intent as written in a lexicon (flow YAML or the built-ins): plain strings, compiled later. */
export interface IntentSpec {
  keywords?: string[];
  exact?: string[];
  patterns?: string[];
  negation?: string;
  /** When a step does not expect this intent, it counts as that one (不需要 answers a yes/no question as no). */
  implies?: string;
  slot?: { name: 'number' | 'amount' | 'date' | 'time' | 'digits'; min?: number; max?: number };
  weight?: number;
  description?: string;
}

/**
 * Intents every flow knows, in both languages. The five global ones (repeat, who_are_you, human,
 * wrong_number, busy) can be handled in every step; yes/no/maybe answer questions.
 * Flows add keywords to these or define their own.
 */
export const builtinIntents: Record<Lang, Record<string, IntentSpec>> = {
  zh: {
    yes: {
      description: 'agrees, confirms, says yes',
      keywords: [
        '是的', '是我', '我是', '我就是', '对的', '对对', '没错', '好的', '可以', '行的', '行啊', '没问题', '是啊', '是呀',
        '当然', '确认', '正确', '本人', '好啊', '愿意', '需要', '要的', '有的', '同意', '确定', '知道了', '明白', '对啊',
        '是是', '好嘞', '是本人', '对没错', '也行', '是这个', '都行', '都可以', '方便', '好吧', '行吧', '有兴趣', '感兴趣',
      ],
      exact: ['嗯', '对', '是', '好', '行', '要', '有', '可', '恩', '昂', '噢', '你说', '你说吧', '您说'],
      negation: 'no',
      weight: 0.9,
    },
    no: {
      description: 'disagrees, denies, says no',
      keywords: ['不是', '不对', '不用', '不要', '没有', '不行', '不可以', '不能', '错了', '不确认', '不同意', '不愿意', '否', '不好'],
      exact: ['不', '没', '别'],
      weight: 0.9,
    },
    maybe: {
      description: 'undecided, not sure, will think about it',
      keywords: [
        '可能', '也许', '不一定', '再看看', '考虑一下', '考虑考虑', '我考虑', '想一想', '想想', '不确定', '说不好', '看情况',
        '到时候再说', '不清楚', '说不准', '大概', '或许', '再想想', '再说吧', '商量',
      ],
      weight: 0.9,
    },
    repeat: {
      description: 'asks to repeat what the bot said',
      keywords: [
        '再说一遍', '再说一次', '没听清', '听不清', '没听见', '没听到', '你说什么', '说啥', '重复一下', '再讲一遍', '再讲一次',
        '刚才说什么', '刚才说啥', '说的什么', '再说一下', '重说', '听不到', '信号不好', '大点声', '什么意思', '没听懂',
        '再来一遍', '在说一遍',
      ],
      // 你说 alone means "go ahead" on a Chinese call (it is in yes); 你说什么 is the request to repeat.
      exact: ['什么', '啥', '喂'],
    },
    who_are_you: {
      description: 'asks who is calling or why',
      keywords: [
        '请问你是谁', '你是谁', '您是谁', '你哪位', '哪位', '你是哪里', '哪里打来', '哪个公司', '什么公司', '你们是谁', '谁啊', '有什么事',
        '什么事', '干什么的', '干嘛的', '你们是哪', '哪家', '谁呀', '怎么有我电话', '哪来的号码', '你们是干', '有啥事',
        '你哪里', '哪个银行', '哪个机构', '哪个单位', '什么机构', '什么单位',
      ],
      exact: ['谁', '你谁'],
    },
    human: {
      description: 'asks for a human agent',
      keywords: [
        '转人工', '人工服务', '人工', '真人', '找人工', '人工客服', '接人工', '转接', '机器人', '找客服', '要客服', '让人来',
        '跟人说', '客服', '专人', '转仁工', '转人公',
      ],
    },
    wrong_number: {
      description: 'says it is the wrong number or wrong person',
      keywords: [
        '打错了', '打错电话', '不是我', '不是本人', '找错人', '没有这个人', '不认识', '换号了', '号码换人', '打错', '我不姓',
        '不是他', '不是她', '弄错了', '搞错了', '大错了', '没这个人', '找错了',
      ],
      patterns: ['^我?不是.{1,3}(?:先生|女士|小姐)'],
      implies: 'no',
    },
    busy: {
      description: 'busy, not a good time, call back later',
      keywords: [
        '没时间', '在忙', '忙着', '我很忙', '正忙', '现在忙', '不方便', '开会', '开车', '稍后再打', '晚点再打', '晚点打', '回头再说',
        '改天', '等会再打', '等会儿再打', '过会儿再打', '在上班', '下次再说', '以后再说', '稍后', '晚一点', '晚些时候', '再打过来',
        '再打来', '回头打', '忙呢', '在外面', '先这样', '没空', '明天再说', '明天再打', '改天再说',
      ],
      exact: ['忙'],
    },
    not_interested: {
      description: 'not interested, does not want it',
      keywords: [
        '不感兴趣', '没兴趣', '不需要', '不想要', '不用了', '不要了', '算了', '不考虑', '没需求', '不想', '不去', '不参加',
        '不买', '没有需要', '暂时不用', '不必了', '没必要', '不搞', '不感性趣', '不敢兴趣',
      ],
      implies: 'no',
    },
    stop_calling: {
      description: 'asks never to be called again',
      keywords: [
        '不要再打', '别再打', '别打了', '不要打了', '再也别打', '别给我打', '不要给我打', '拉黑', '删掉我的号码', '以后别打',
        '别再给我打', '不要再给我打', '再给我打电话', '投诉',
      ],
      implies: 'not_interested',
    },
    already_paid: {
      description: 'says the bill is already paid',
      keywords: ['已经还款', '已经还了', '还过了', '已经还', '还清了', '已经交了', '已经付了', '付过了', '交过了', '还完了', '已经转账', '已经在还', '我还了', '刚还'],
    },
    hold_on: {
      description: 'asks the bot to wait a moment',
      keywords: ['等一下', '稍等', '等等', '等会儿', '等一会', '你等下', '等下'],
    },
  },
  en: {
    yes: {
      description: 'agrees, confirms, says yes',
      keywords: [
        'yes', 'yeah', 'yep', 'yup', 'sure', 'correct', 'that is right', 'that is me', 'this is he', 'this is she', 'speaking',
        'of course', 'absolutely', 'okay', 'ok', 'alright', 'all right', 'sounds good', 'i do', 'i am', 'it is me', 'definitely',
        'certainly', 'yes please', 'i will', 'that works', 'fine', 'affirmative', 'indeed', 'yes it is', 'you got it', 'interested',
      ],
      exact: ['right', 'yea', 'ya', 'uhhuh', 'mmhmm', 'mhm', 'good', 'great', 'perfect', 'yes', 'yeah', 'yep', 'yup', 'sure', 'okay', 'ok', 'correct'],
      negation: 'no',
      weight: 0.9,
    },
    no: {
      description: 'disagrees, denies, says no',
      keywords: [
        'no', 'nope', 'nah', 'not really', 'negative', 'i do not', 'i am not', 'not at all', 'no way', 'incorrect', 'that is wrong',
        'i will not', 'i did not', 'i have not', 'i never',
      ],
      exact: ['not', 'no', 'nope', 'nah'],
      weight: 0.9,
    },
    maybe: {
      description: 'undecided, not sure, will think about it',
      keywords: [
        'maybe', 'perhaps', 'not sure', 'i am not sure', 'think about it', 'let me think', 'possibly', 'it depends', 'depends', 'i guess',
        'might', 'i do not know', 'no idea', 'probably',
      ],
      weight: 0.9,
    },
    repeat: {
      description: 'asks to repeat what the bot said',
      keywords: [
        'repeat', 'say that again', 'come again', 'pardon', 'what did you say', 'did not hear', 'can not hear', 'could not hear',
        'one more time', 'again please', 'excuse me', 'say again', 'didn t catch', 'did not catch', 'what was that', 'sorry what',
        'you are breaking up', 'please repeat',
      ],
      exact: ['what', 'sorry', 'huh', 'eh', 'hello'],
    },
    who_are_you: {
      description: 'asks who is calling or why',
      keywords: [
        'who is this', 'who are you', 'who is calling', 'who is it', 'what company', 'where are you calling from',
        'what is this about', 'what is this regarding', 'who am i speaking', 'what do you want', 'who is that', 'why are you calling',
        'who do you work for', 'how did you get my number', 'who',
      ],
    },
    human: {
      description: 'asks for a human agent',
      keywords: [
        'talk to an agent', 'speak to an agent', 'talk to a human', 'speak to a human', 'agent', 'operator', 'representative', 'real person', 'human', 'talk to a person', 'speak to a person', 'speak to someone',
        'talk to someone', 'customer service', 'live person', 'a person', 'manager', 'supervisor', 'are you a robot', 'robot',
      ],
    },
    wrong_number: {
      description: 'says it is the wrong number or wrong person',
      keywords: [
        'wrong number', 'wrong person', 'not me', 'no one by that name', 'nobody by that name', 'does not live here',
        'you have the wrong', 'never heard of', 'do not know him', 'do not know her', 'do not know who', 'wrong guy',
        'not this number', 'no such person', 'there is no',
      ],
      implies: 'no',
    },
    busy: {
      description: 'busy, not a good time, call back later',
      keywords: [
        'busy', 'not a good time', 'call me later', 'call back later', 'call me back', 'call back', 'can not talk', 'driving',
        'in a meeting', 'not now', 'later', 'maybe later', 'bad time', 'at work', 'another time', 'some other time', 'call tomorrow',
        'call me tomorrow', 'no time', 'in the middle of',
      ],
    },
    not_interested: {
      description: 'not interested, does not want it',
      keywords: [
        'not interested', 'not really interested', 'not that interested', 'no thanks', 'no thank you', 'do not need', 'do not want', 'not for me', 'pass', 'not looking',
        'i am good', 'we are good', 'no need', 'not needed',
      ],
      implies: 'no',
    },
    stop_calling: {
      description: 'asks never to be called again',
      keywords: ['stop calling', 'do not call', 'take me off', 'remove me', 'unsubscribe', 'never call', 'lose my number', 'stop bothering', 'file a complaint', 'report you'],
      implies: 'not_interested',
    },
    already_paid: {
      description: 'says the bill is already paid',
      keywords: [
        'already paid', 'i paid', 'paid it', 'made the payment', 'payment was made', 'have paid', 'paid already', 'paid off',
        'sent the payment', 'i paid yesterday', 'already made', 'already sent',
      ],
    },
    hold_on: {
      description: 'asks the bot to wait a moment',
      keywords: ['hold on', 'wait', 'one moment', 'one second', 'just a second', 'hang on', 'give me a second', 'just a moment'],
    },
  },
};

/** Global intents the flow language defines (handled in every step when the flow maps them). */
export const globalIntentNames = ['repeat', 'who_are_you', 'human', 'wrong_number', 'busy'] as const;
