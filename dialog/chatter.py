"""Whether a message with small talk in it also asks for something or reports a problem.

Citizens chat: they thank at length, tell about their day, wish a happy holiday. Such a message
wants a short polite reply, not an FAQ answer; one that goes on to a question or a complaint
wants the answer. These word lists tell the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dialog.analyzer import Analysis, Analyzer
from dialog.escalation import EscalationRule, EscalationRules
from dialog.messages import Action, Decision
from dialog.smalltalk import Smalltalk

SMALLTALK_MAX_WORDS = 8  # a longer message that starts with thanks usually goes on to a question
LONG_THANKS_MAX_WORDS = 80  # … unless it thanks and asks nothing
ABOUT_THE_TALK = frozenset({"bot_identity", "impatience"})  # «долго вы ещё будете думать? я уже …»
# said around a question, not instead of one
COURTESY = frozenset({"greeting", "thanks", "goodbye", "apology"})
CLOSING = frozenset({"thanks", "apology", "acknowledgement"})  # said after the answer, not a question
ABOUT_THE_BOT = frozenset({"bot_identity", "how_are_you", "presence", "impatience"})

# a long thanks with one of these asks for something after all: «… подскажите, что значит статус»
ASKS_SOMETHING = re.compile(
    r"(?<!\w)(подскажи|подскажите|расскажи|расскажите|объясни|объясните|разъясните|поясните|помогите|"
    r"помоги|что значит|"
    r"что означает|что делать|что нужно|как мне|как можно|как быть|заранее|посоветуй|посоветуйте|"
    r"прошу сообщить|сообщите|интересует|"
    r"знаешь как|знаешь где|знаете как|знаете где)(?!\w)"
)
# a thanks with one of these reports a problem after all: «спасибо, но код так и не пришёл»;
# a wish is not a report: «работайте без сбоев», «никаких ошибок»
PROBLEM = re.compile(
    r"(?<!\w)(?<!без )(?<!никаких )(?<!нет )(?!проблем\w* (решен|решил|устранен|исчез))"
    r"(не могу|не получ|не приход|не пришл|не пришел|не работа|не отображ|не вход|не пуска|"
    r"не открыва|не удает|не загруж|не проход|не принима|ошибк|проблем|сбой|сбоя|отказ|однако|"
    r"все равно не|снова не|опять не|по-прежнему|по прежнему|до сих пор|хочу узнать|не най|не подх|"
    r"но не)\w*"
)
# a mistake the citizen owns is not a problem to solve: «техническая ошибка с моей стороны»
OWN_MISTAKE = re.compile(r"(?<!\w)(ошибк\w*|ошибся|ошиблась)\s+с\s+моей\s+стороны|(свою|мою|моя)\s+ошибк\w*")
# said to make clear there is no question: «пишу не с вопросом, а просто поблагодарить»
JUST_THANKS = re.compile(
    r"(?<!\w)(не с вопросом|без вопрос\w*|вопросов (у меня )?(никаких )?нет|"
    r"просто ((хочу|хотел|хотела) )?(сказать спасибо|поблагодарить)|беру свои слова)(?!\w)"
)
# a story that ends well: «… не приходили коды … но сегодня всё заработало»
FIXED = re.compile(
    r"(?<!\w)(?<!не )(заработал\w*|получилось|решили|решилось|починили|восстановил\w*|наконец|"
    r"все сразу)(?!\w)"
)
STORY_WORDS = 25
# a greeting or thanks around one of these asks for something: «привет, расскажи анекдот»
ASKS = re.compile(
    r"(?<!\w)(расскаж|подскаж|напиши|скаж|объясн|разъясн|поясн|помоги|найди|посоветуй|переведи|покажи|сделай|"
    r"как|где|что|почему|сколько|какой|какая|какие|когда|зачем|можно|давай|поболта|поигра|сыгра|сочин|придума)\w*"
    r"|(?<!\w)реши(те)?(?!\w)"
)
# a request in the imperative, that no small talk phrase makes: «привет, сочини стих»
REQUEST = re.compile(
    r"(?<!\w)(расскажи|напиши|сочини|найди|посоветуй|порекомендуй|переведи|покажи|сделай|реши|придумай|"
    r"объясни|подскажи)(те)?(?!\w)|(?<!\w)(сыграем|поиграем|поболтаем|давай(те)?\s+(в|сыгра|поигра|поболта))"
)
# «спасибо, что …», «нашла, где смотреть»: a «что» or «где» that asks nothing
NOT_ASKING = re.compile(
    r"(?<!\w)((извин|прост|сорян|сорри|спасиб|благодар|рад)\w*\s+что|"
    r"(нашл|нашел|нашёл|понял|поняла|разобрал|узнал|вспомнил)\w*\s+(где|как|что)|если что|ну что ж)(?!\w)"
)
ADDRESSES_THE_BOT = re.compile(r"(?<!\w)(ты|тебе|тебя|тобой|твой|твоя|твое|твои)(?!\w)")
# people of the service a citizen thanks («специалиста», «девушке») …
THANKED_PEOPLE = re.compile(r"^(оператор|специалист|сотрудник|консультант|девушк|ребят|поддержк)\w*$")
# … or greets all together («операторы», «сотрудникам»): one «оператор» may be a call for one
GREETED_PEOPLE = re.compile(r"^((оператор|специалист|сотрудник|консультант)(ы|ам|ами|ов)|девушки|ребят\w*)$")
_QUESTION = re.compile(r"[^.!?…\n,]*\?")  # the clause before «?»: «…, ладно?» is a tag

# whether one question of the message is about the talk itself («ты робот?», «ладно?»)
AboutTheTalk = Callable[[str], bool]


def asks_words(text: str) -> bool:
    """A word that asks or requests: «как», «где», «расскажи» — but not «спасибо, что …»."""
    return ASKS.search(NOT_ASKING.sub(" ", text)) is not None


def reports_problem(text: str) -> bool:
    """A problem the citizen still has; a story that ends in a fix and thanks has none."""
    text = OWN_MISTAKE.sub(" ", text)
    problems = list(PROBLEM.finditer(text))
    if not problems or JUST_THANKS.search(text):
        return False
    fixes = list(FIXED.finditer(text))
    story = len(text.split()) >= STORY_WORDS
    return not (story and fixes and fixes[-1].start() > problems[-1].start())


def asks(text: str, raw: str, about_the_talk: AboutTheTalk) -> bool:
    """A question or a request, other than one about the talk itself."""
    if ASKS_SOMETHING.search(text) is not None:
        return True
    return any(not about_the_talk(question) for question in _QUESTION.findall(raw))


def says_nothing_more(text: str, raw: str, about_the_talk: AboutTheTalk) -> bool:
    """Neither asks nor reports a problem («спасибо, в прошлый раз всё решили за пять минут»): the
    answer a topic would give is not what the citizen wants."""
    return not asks(text, raw, about_the_talk) and not reports_problem(text)


class Chatter:
    """Tells the small talk in a message from the request it comes with."""

    def __init__(self, analyzer: Analyzer, smalltalk: Smalltalk, rules: EscalationRules) -> None:
        self.analyzer = analyzer
        self.smalltalk = smalltalk
        self.rules = rules

    def courtesy_to_people(self, analysis: Analysis, raw: str) -> Decision | None:
        """Thanks to a specialist, good night to the operators: the people are named, not called for
        («благодарю специалиста второй линии», «доброй ночи, операторы!»)."""
        people = [w for w in analysis.words if THANKED_PEOPLE.match(w)]
        intent = self.smalltalk.mentioned(analysis.words)
        if not people or intent is None or intent.id not in COURTESY:
            return None
        if intent.id != "thanks" and not any(GREETED_PEOPLE.match(w) for w in people):
            return None  # «здравствуйте, оператор» may be a call for one
        if not says_nothing_more(analysis.text, raw, self._about_the_talk) or self._calls_someone(analysis):
            return None
        return Decision(Action.SMALLTALK, intent=intent.id, confidence=0.5)

    def _calls_someone(self, analysis: Analysis) -> bool:
        """«спасибо, позовите оператора»: the words that go with a call for a person."""
        rule = self.rules.by_id.get("explicit_request")
        near = rule.near if isinstance(rule, EscalationRule) else None
        return near is not None and any(p.matches(analysis.text) for p in near.when)

    def unless_smalltalk(
        self, analysis: Analysis, decision: Decision, raw: str, content: Analysis
    ) -> Decision:
        """A message with small talk in it and no clear question is small talk: a short one with a
        greeting, thanks or a question about the bot, a longer one that chats and asks nothing, and
        a short one that says «ты» to the bot (citizens say «вы» to the service). A question beside
        the greeting keeps its candidate topics («хай, код не приходит, чё делать?») or its refusal
        («добрый день, где купить билеты на концерт?»)."""
        size = len(analysis.words)
        intent = self.smalltalk.mentioned(analysis.words)
        if intent is None:  # «сорри за капс», «отбой, нашла»: said alone, with no question beside
            alone = self.smalltalk.mentioned(analysis.words, alone=True)
            intent = alone if alone is not None and not self._asks_beyond_smalltalk(analysis) else None
        problem = reports_problem(analysis.text)
        quiet = not problem and not asks(analysis.text, raw, self._about_the_talk)  # says_nothing_more
        if decision.action is Action.ANSWER and not (
            intent is not None
            and intent.id in CLOSING  # «вопрос снят, СМС пришла», «спасибо, код пришёл»
            and quiet
            and not asks_words(analysis.text)  # against a confident answer, not even «как»
        ):
            return decision
        if intent is not None and (problem or self._asks_beside(content, raw)):
            return decision  # «ужасный сайт, третий день не могу войти» is not an opinion
        quiet = quiet and size <= LONG_THANKS_MAX_WORDS
        if intent is not None and (
            size <= SMALLTALK_MAX_WORDS
            or (intent.id in ABOUT_THE_TALK and size <= 2 * SMALLTALK_MAX_WORDS)
            # friendly chatter the FAQ has no confident answer for: «здравствуйте, доченька, я тут …»
            or quiet
        ):
            return Decision(Action.SMALLTALK, intent=intent.id, confidence=0.5)
        if size <= 5 and ADDRESSES_THE_BOT.search(analysis.text):
            return Decision(Action.SMALLTALK, intent="bot_identity", confidence=0.5)
        return decision

    def _asks_beyond_smalltalk(self, analysis: Analysis) -> bool:
        """A word that asks, outside the small-talk phrases and «извините, что …»."""
        text = NOT_ASKING.sub(" ", analysis.text)
        return ASKS.search(self.smalltalk.remainder(tuple(text.split()))) is not None

    def _asks_beside(self, content: Analysis, raw: str) -> bool:
        """Next to the small talk is a request of its own: «добрый день, где купить билеты?»,
        «ку) давай в города сыграем»."""
        if not self.smalltalk.leftover(content.words):
            return False
        return REQUEST.search(content.text) is not None or asks(content.text, raw, self._about_the_talk)

    def _about_the_talk(self, question: str) -> bool:
        """A question about the bot or the talk itself («ты робот?», «как дела?», «ладно?»)."""
        words = self.analyzer.analyze(question).words
        intent = self.smalltalk.mentioned(words)
        return len(words) <= 1 or (intent is not None and intent.id in ABOUT_THE_BOT)

    def only_courtesy(self, text: str, analysis: Analysis) -> bool:
        """Thanks or a greeting that asks for nothing: «пишу из Германии и просто хочу сказать
        спасибо» refuses nothing, so no out-of-scope rule applies to it."""
        intent = self.smalltalk.mentioned(analysis.words)
        return (
            intent is not None
            and intent.id in COURTESY
            and says_nothing_more(analysis.text, text, self._about_the_talk)
        )
