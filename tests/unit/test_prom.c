/* SPDX-License-Identifier: ISC */
/* The Prometheus text format writer (prom.h): escaping and values as the
 * exposition format 0.0.4 defines them. */
#include "unit.h"

#include <math.h>
#include "prom.h"

TEST(family_help_and_type)
{
	struct kbuf b = { 0 };

	kg_prom_family(&b, "koogate_x_total", "counter", "Calls\\answers\nby program.");
	CHECK_STR_EQ(b.p, "# HELP koogate_x_total Calls\\\\answers\\nby program.\n# TYPE koogate_x_total counter\n");
	kbuf_free(&b);
}

TEST(sample_escapes_label_values)
{
	struct kbuf b = { 0 };
	const char *l[] = { "a", "x\"y", "b", "back\\slash", "c", "new\nline" };

	kg_prom_sample(&b, "m", l, 3, 2);
	CHECK_STR_EQ(b.p, "m{a=\"x\\\"y\",b=\"back\\\\slash\",c=\"new\\nline\"} 2\n");
	kbuf_free(&b);
}

TEST(sample_without_labels)
{
	struct kbuf b = { 0 };

	kg_prom_sample(&b, "koogate_database_up", NULL, 0, 0);
	CHECK(b.p[b.len - 1] == '\n');
	CHECK_STR_EQ(b.p, "koogate_database_up 0\n");
	kbuf_free(&b);
}

TEST(values_integers_fractions_specials)
{
	struct kbuf b = { 0 };

	kg_prom_value(&b, 12345678901234.0);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, 0.005);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, -3);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, NAN);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, INFINITY);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, -INFINITY);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, 1e300);
	kbuf_putc(&b, ' ');
	kg_prom_value(&b, 0.1 + 0.2);
	CHECK_STR_EQ(b.p, "12345678901234 0.005 -3 NaN +Inf -Inf 1e+300 0.30000000000000004");
	kbuf_free(&b);
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
		UNIT(family_help_and_type),
		UNIT(sample_escapes_label_values),
		UNIT(sample_without_labels),
		UNIT(values_integers_fractions_specials),
	};
	return unit_main(tests, UNIT_COUNT(tests), argc, argv);
}
