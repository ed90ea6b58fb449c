/*
 * check_example: compiles and runs the README's embedding example
 * (tests/example_embed.c, kept identical to the README by a CTest test).
 */
#include <check.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example_embed.c"
#include "fixture.h"

START_TEST(test_example_sees_fin_and_rst)
{
	int s, c;

	ck_assert_int_eq(fx_pair(AF_INET, &s, &c), 0);
	fx_close_fin(c);
	ck_assert_int_eq(serve(s), 0);
	close(s);
	ck_assert_int_eq(fx_pair(AF_INET6, &s, &c), 0);
	fx_close_rst(c);
	ck_assert_int_eq(serve(s), 0);
	close(s);
}
END_TEST

START_TEST(test_example_rejects_non_socket)
{
	ck_assert_int_eq(serve(STDIN_FILENO) < 0, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("example");
	TCase *tc = tcase_create("example");

	tcase_add_test(tc, test_example_sees_fin_and_rst);
	tcase_add_test(tc, test_example_rejects_non_socket);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
