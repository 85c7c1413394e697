/* SPDX-License-Identifier: ISC */
#include "page.h"

/* Neutral colours, system fonts; tables turn into labelled cards below
 * 40rem (each cell carries its column name in data-label). */
static const char css[] =
	":root{color-scheme:light}"
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2328;"
	"background:#f6f7f9}"
	"header,main,footer{max-width:78rem;margin:0 auto;padding:0 1rem}"
	"footer{color:#57606a;font-size:.85rem;padding-bottom:2rem}"
	"h1{font-size:1.35rem;margin:1rem 0 .3rem}h2{font-size:1.05rem;margin:0 0 .4rem}"
	"a{color:#0a58ca}p{margin:.4rem 0}"
	".card{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:.8rem 1rem;margin:1rem 0}"
	".meta,.note{color:#57606a;font-size:.9rem}"
	".health{border-left-width:10px}.health h2{font-size:1.2rem}.health ul{margin:.3rem 0;padding-left:1.2rem}"
	".green{border-color:#1a7f37;background:#eef9f1}.amber{border-color:#bf8700;background:#fff8e1}"
	".red{border-color:#cf222e;background:#fff0ee}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{padding:.3rem .5rem;text-align:left;border-bottom:1px solid #e5e8eb;font-size:.875rem;vertical-align:top}"
	"th{background:#f3f5f7;font-weight:600;white-space:nowrap}"
	"tr.failed td{background:#ffebe9}tr.refused td{background:#fff8e1}tr.probe td{color:#6e7781}"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.3rem 0}dt{font-weight:600}"
	"dd{margin:0;overflow-wrap:anywhere}"
	"nav a{margin-right:.8rem}"
	".box{max-width:34rem;margin:4rem auto}"
	".button{display:inline-block;background:#0a58ca;color:#fff;padding:.45rem 1rem;border-radius:6px;"
	"text-decoration:none;margin-top:.4rem}"
	"code{font-family:ui-monospace,Menlo,Consolas,monospace;background:#eaeef2;padding:0 .3em;border-radius:3px}"
	"@media (max-width:40rem){"
	"table.rows thead{display:none}table.rows tr{display:block;border-bottom:1px solid #d8dee4;padding:.3rem 0}"
	"table.rows td{display:flex;gap:.6rem;border:0;padding:.1rem .2rem;overflow-wrap:anywhere}"
	"table.rows td:empty{display:none}table.rows td::before{content:attr(data-label);font-weight:600;flex:0 0 7.5rem;color:#57606a}"
	"dl{grid-template-columns:1fr}dd{margin-bottom:.3rem}.box{margin:1.5rem .75rem}}";

void kg_page_begin(struct kbuf *b, const char *title, const char *head_extra)
{
	kbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	kbuf_put_html(b, title);
	kbuf_puts(b, "</title>\n");
	if (head_extra)
		kbuf_puts(b, head_extra);
	kbuf_printf(b, "<style>%s</style></head>\n<body>\n", css);
}

void kg_page_end(struct kbuf *b)
{
	kbuf_puts(b, "</body></html>\n");
}

void kg_page_text(struct kbuf *b, const char *open, const char *text, const char *close)
{
	kbuf_puts(b, open);
	kbuf_put_html(b, text);
	kbuf_puts(b, close);
}

void kg_page_message(struct kbuf *b, const struct kg_page_msg *m)
{
	kg_page_begin(b, m->title, NULL);
	kg_page_text(b, "<main class=\"box card\"><h1>", m->title, "</h1>\n");
	kg_page_text(b, "<p id=\"kg-message\">", m->message, "</p>\n");
	if (m->ref)
		kg_page_text(b, "<p class=\"note\">If this keeps happening, give the service's administrator this "
		                "reference: <code id=\"kg-ref\">", m->ref, "</code></p>\n");
	if (m->link) {
		kg_page_text(b, "<p><a class=\"button\" id=\"kg-link\" href=\"", m->link, "\">");
		kg_page_text(b, "", m->link_text, "</a></p>\n");
	}
	kbuf_puts(b, "</main>\n");
	kg_page_end(b);
}
