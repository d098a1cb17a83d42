/* net/addr_limits.c: what counts as one address for the relay's
 * per-address cap, and the counts it keeps. */
#include <criterion/criterion.h>

#include <string.h>

#include "msglog.h"
#include "net/addr_limits.h"

static addr_key key_of(const char *ip)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;

    if (uv_ip4_addr(ip, 9, &a4) == 0)
        return addr_key_of((const struct sockaddr *)&a4);
    cr_assert_eq(uv_ip6_addr(ip, 9, &a6), 0, "%s", ip);
    return addr_key_of((const struct sockaddr *)&a6);
}

static void assert_same(const char *a, const char *b, int same)
{
    addr_key ka = key_of(a), kb = key_of(b);
    cr_assert_eq(addr_key_equal(&ka, &kb), same, "%s and %s", a, b);
}

Test(addr_limits, one_host_is_an_ipv4_address_or_an_ipv6_64)
{
    assert_same("192.0.2.1", "192.0.2.1", 1);
    assert_same("192.0.2.1", "192.0.2.2", 0);
    /* A host picks any address of its /64 (SLAAC, privacy addresses). */
    assert_same("2001:db8:1:2::1", "2001:db8:1:2:ffff:1234:5678:9abc", 1);
    assert_same("2001:db8:1:2::1", "2001:db8:1:3::1", 0);
    /* A dual-stack listener sees IPv4 peers as mapped addresses. */
    assert_same("::ffff:192.0.2.1", "192.0.2.1", 1);
    assert_same("::ffff:192.0.2.1", "::ffff:192.0.2.2", 0);

    char text[64];
    addr_key k = key_of("2001:db8:1:2:ffff::7");
    addr_key_text(&k, text, sizeof text);
    cr_assert_str_eq(text, "2001:db8:1:2::/64");
    k = key_of("::ffff:192.0.2.1");
    addr_key_text(&k, text, sizeof text);
    cr_assert_str_eq(text, "192.0.2.1");
}

Test(addr_limits, counts_go_up_and_down_and_name_the_busiest)
{
    addr_table t;
    cr_assert_eq(addr_table_init(&t, 4), MSGLOG_OK);
    addr_key a = key_of("192.0.2.1"), b = key_of("192.0.2.2"), c = key_of("2001:db8::1");
    size_t most;
    addr_busiest(&t, &most);
    cr_assert_eq(most, 0, "empty");
    /* More addresses than buckets: the chains hold them. */
    char ip[32];
    for (int i = 0; i < 100; i++) {
        snprintf(ip, sizeof ip, "198.51.100.%d", i);
        addr_key k = key_of(ip);
        cr_assert_eq(addr_add(&t, &k), MSGLOG_OK);
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(addr_add(&t, &a), MSGLOG_OK);
    cr_assert_eq(addr_add(&t, &b), MSGLOG_OK);
    cr_assert_eq(addr_count(&t, &a), 3);
    cr_assert_eq(addr_count(&t, &b), 1);
    cr_assert_eq(addr_count(&t, &c), 0);
    addr_key busy = addr_busiest(&t, &most);
    cr_assert(most == 3 && addr_key_equal(&busy, &a));
    addr_remove(&t, &b);
    cr_assert_eq(addr_count(&t, &b), 0, "gone at zero");
    addr_remove(&t, &a);
    addr_remove(&t, &a);
    addr_remove(&t, &a);
    busy = addr_busiest(&t, &most);
    cr_assert_eq(most, 1, "the 100 others hold one each");
    addr_table_free(&t);
}
