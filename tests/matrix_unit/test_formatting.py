"""Matrix HTML ⇄ XEP-0393: what an XMPP user reads of a styled Matrix message, and back."""

from __future__ import annotations

from html import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.matrix.formatting import (
    MatrixText,
    html_to_styled,
    strip_reply_fallback,
    styled_to_matrix,
)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<strong>bold</strong> <b>b</b>", "*bold* *b*"),
        ("<em>em</em> <i>i</i>", "_em_ _i_"),
        ("<del>gone</del> <s>struck</s>", "~gone~ ~struck~"),
        ("use <code>ls -l</code>", "use `ls -l`"),
        ("<code>a <b>not</b> b</code>", "`a not b`"),
        ("<b> spaced </b>out", "*spaced* out"),
        ("<b></b>empty", "empty"),
        ("<b><strong>twice</strong></b>", "*twice*"),
        ("<b>a<br>b</b>", "*a*\n*b*"),
        ("<b>x <i>y</i></b>", "*x _y_*"),
        ("<h2>Title</h2>text", "*Title*\ntext"),
    ],
)
def test_inline_styles_become_valid_spans(html: str, text: str) -> None:
    assert html_to_styled(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("a<br>b<br/>\nc", "a\nb\nc"),
        ("<p>one</p>\n<p>two</p>", "one\n\ntwo"),
        ("<div>one</div><div>two</div>", "one\ntwo"),
        ("<pre><code>x = 1\n\ny &lt; 2\n</code></pre>tail", "```\nx = 1\n\ny < 2\n```\ntail"),
        ('<pre><code class="language-python">pass</code></pre>', "```python\npass\n```"),
        ("<pre>a<br>b</pre>", "```\na\nb\n```"),
        ("<blockquote><p>q1</p><p>q2</p></blockquote><p>after</p>", "> q1\n>\n> q2\n\nafter"),
        ("<blockquote>a<blockquote>b</blockquote></blockquote>c", "> a\n>> b\nc"),
        ("<blockquote><pre>code</pre></blockquote>", "> ```\n> code\n> ```"),
        ("<ul><li>one</li><li><p>two</p></li></ul>", "• one\n• two"),
        ('<ol start="3"><li>a<li>b</ol>', "3. a\n4. b"),
        ("<ul><li>a<ul><li>inner</li></ul></li></ul>", "• a\n  • inner"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
    ],
)
def test_blocks_become_lines(html: str, text: str) -> None:
    assert html_to_styled(html) == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<a href="https://x.org">site</a>', "site <https://x.org>"),
        ('<a href="https://y.org">https://y.org</a>', "https://y.org"),
        ('<a href="https://y.org"></a>', "https://y.org"),
        ('<a href="mailto:a@b.org">a@b.org</a>', "a@b.org"),
        ('<a href="https://matrix.to/#/@bob:s.org">Bob</a>: hi', "Bob: hi"),
        ('<a href="https://matrix.to/#/@bob:s.org"></a> hi', "@bob:s.org hi"),
        ('<img src="mxc://s/x" alt=":smile:">', ":smile:"),
        ('<img src="mxc://s/x">', "[image]"),
    ],
)
def test_links_mentions_and_images(html: str, text: str) -> None:
    assert html_to_styled(html) == text


def test_reply_fallback_is_dropped() -> None:
    html = (
        '<mx-reply><blockquote><a href="https://matrix.to/#/!r/$e">In reply to</a> '
        '<a href="https://matrix.to/#/@a:s">@a:s</a><br>the question</blockquote></mx-reply>'
        "the answer"
    )
    assert html_to_styled(html) == "the answer"
    body = "> <@a:s> the question\n> second line\n\nthe answer\n> not fallback"
    assert strip_reply_fallback(body) == "the answer\n> not fallback"
    assert strip_reply_fallback("no quote") == "no quote"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<b>unclosed <i>mess</b> more</i>", "*unclosed _mess_* more"),
        ("</b>stray end", "stray end"),
        ("<<>>&amp;&lt;", "<<>>&<"),
        ("<script>alert(1)</script>safe", "safe"),
        ("<p>open<p>again", "open\n\nagain"),
        ("<font color=red>red</font>", "red"),
        ('<a href="x', '<a href="x'),
        ("<a href=<b><a href=<b>", "<b"),
    ],
)
def test_bad_html_is_read_leniently(html: str, text: str) -> None:
    assert html_to_styled(html) == text


_HTML_PIECES = st.sampled_from(
    [
        *("<", ">", "/", "a", " ", "&", ";", "\n", '"', "=", "<b>", "</i>", "<pre>", "<li>"),
        *("</p>", "<blockquote>", "<a href=", "<mx-reply>", "<code>", "</ul>", "<br>", "&lt;"),
        "<!--",
    ]
)


@given(st.lists(_HTML_PIECES).map("".join))
def test_html_conversion_never_raises(html: str) -> None:
    assert isinstance(html_to_styled(html), str)


# ----------------------------------------------------------------------------- outgoing


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold* _em_ ~del~", "<strong>bold</strong> <em>em</em> <del>del</del>"),
        ("`co*de*` <x>", "<code>co*de*</code> &lt;x&gt;"),
        ("*_both_*", "<strong><em>both</em></strong>"),
        ("a & *b*\nc", "a &amp; <strong>b</strong><br>c"),
        (
            "> quote\n> more\n>> deep\nafter",
            "<blockquote>quote<br>more<blockquote>deep</blockquote></blockquote>after",
        ),
        (
            "```python\nx < 1\n```\nend",
            '<pre><code class="language-python">x &lt; 1</code></pre>end',
        ),
        ("```\nnot closed", "<pre><code>not closed</code></pre>"),
    ],
)
def test_styled_text_becomes_html(text: str, html: str) -> None:
    assert styled_to_matrix(text) == MatrixText(text, html)


@pytest.mark.parametrize(
    "text", ["plain <b> & text", "snake_case_name 2*3*4", "* not bold *", "**", "a*b*c", ""]
)
def test_unstyled_text_goes_without_html(text: str) -> None:
    assert styled_to_matrix(text) == MatrixText(text, None)


_ONE_LINE = st.text(alphabet=st.sampled_from(list("ab *_~`<&"))).filter(
    lambda text: text == text.strip() and "  " not in text and not text.startswith("```")
)


@given(_ONE_LINE)
def test_styled_line_survives_the_trip_to_matrix_and_back(text: str) -> None:
    html = styled_to_matrix(text).formatted_body
    assert html_to_styled(html if html is not None else escape(text)) == text
