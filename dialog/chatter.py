"""Whether a message with small talk in it also asks for something or reports a problem.

Citizens chat: they thank at length, tell about their day, wish a happy holiday. Such a message
wants a short polite reply, not an FAQ answer; one that goes on to a question or a complaint
wants the answer. These word lists tell the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# a long thanks with one of these asks for something after all: «… подскажите, что значит статус»
ASKS_SOMETHING = re.compile(
    r"(?<!\w)(подскажи|подскажите|расскажи|расскажите|объясни|объясните|разъясните|поясните|помогите|"
    r"помоги|что значит|"
    r"что означает|что делать|что нужно|как мне|как можно|как быть|заранее)(?!\w)"
)
# a thanks with one of these reports a problem after all: «спасибо, но код так и не пришёл»;
# a wish is not a report: «работайте без сбоев», «никаких ошибок»
PROBLEM = re.compile(
    r"(?<!\w)(?<!без )(?<!никаких )(?<!нет )(?!проблем\w* (решен|решил|устранен|исчез))"
    r"(не могу|не получ|не приход|не пришл|не пришел|не работа|не отображ|не вход|не пуска|"
    r"не открыва|не удает|не загруж|не проход|не принима|ошибк|проблем|сбой|сбоя|отказ|однако|"
    r"все равно не|снова не|опять не|по-прежнему|по прежнему|до сих пор|хочу узнать)\w*"
)
# a greeting or thanks around one of these asks for something: «привет, расскажи анекдот»
ASKS = re.compile(
    r"(?<!\w)(расскаж|подскаж|напиш|скаж|объясн|разъясн|поясн|помоги|найди|посоветуй|переведи|покажи|сделай|"
    r"как|где|что|почему|сколько|какой|какая|какие|когда|зачем|можно)\w*"
)
ADDRESSES_THE_BOT = re.compile(r"(?<!\w)(ты|тебе|тебя|тобой|твой|твоя|твое|твои)(?!\w)")
# people of the service a citizen thanks («специалиста», «девушке») …
THANKED_PEOPLE = re.compile(r"^(оператор|специалист|сотрудник|консультант|девушк|ребят|поддержк)\w*$")
# … or greets all together («операторы», «сотрудникам»): one «оператор» may be a call for one
GREETED_PEOPLE = re.compile(r"^((оператор|специалист|сотрудник|консультант)(ы|ам|ами|ов)|девушки|ребят\w*)$")
_QUESTION = re.compile(r"[^.!?…\n,]*\?")  # the clause before «?»: «…, ладно?» is a tag

# whether one question of the message is about the talk itself («ты робот?», «ладно?»)
AboutTheTalk = Callable[[str], bool]


def asks(text: str, raw: str, about_the_talk: AboutTheTalk) -> bool:
    """A question or a request, other than one about the talk itself."""
    if ASKS_SOMETHING.search(text) is not None:
        return True
    return any(not about_the_talk(question) for question in _QUESTION.findall(raw))


def says_nothing_more(text: str, raw: str, about_the_talk: AboutTheTalk) -> bool:
    """Neither asks nor reports a problem («спасибо, в прошлый раз всё решили за пять минут»): the
    answer a topic would give is not what the citizen wants."""
    return not asks(text, raw, about_the_talk) and PROBLEM.search(text) is None
