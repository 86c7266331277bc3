/*
 * test_validate.c — invalid modules are rejected with WEFT_EINVALID.
 *
 * The modules live in tests/unit/wat/invalid/ (one defect per .wat, named
 * in its first line) and are converted with `wat2wasm --no-check`, so they
 * are well-formed binaries that fail only validation. The message must name
 * the section and the byte offset, and usually the thing that is wrong.
 * valid_edges.wat holds the mirror image: corner cases that must pass.
 */
#include "harness.h"

static void expect_invalid_at(const char *file, int line, const char *name, const char *section,
                              const char *topic)
{
    weft_engine_t *e = h_engine();
    char path[256], msg[512];
    size_t len;
    uint8_t *bytes;
    int rc;
    snprintf(path, sizeof path, "invalid/%s", name);
    bytes = h_read_wasm(path, &len);
    rc = h_load_bytes(e, bytes, len, msg, sizeof msg);
    if (rc != WEFT_EINVALID)
        test_fail(file, line, "%s: got %s (%d) \"%s\", want WEFT_EINVALID", name,
                  weft_errname(rc), rc, msg);
    if (strstr(msg, section) == NULL)
        test_fail(file, line, "%s: message \"%s\" does not name the %s", name, msg, section);
    if (strstr(msg, "offset") == NULL)
        test_fail(file, line, "%s: message \"%s\" has no offset", name, msg);
    if (topic && strstr(msg, topic) == NULL)
        test_fail(file, line, "%s: message \"%s\" does not mention \"%s\"", name, msg, topic);
}

#define EXPECT_INVALID(name, section, topic) \
    expect_invalid_at(__FILE__, __LINE__, name, section, topic)

TEST(validate_type_mismatch_result)
{
    EXPECT_INVALID("type_mismatch", "code section", "type mismatch");
}

TEST(validate_type_mismatch_operand)
{
    EXPECT_INVALID("type_mismatch_operand", "code section", "type mismatch");
}

TEST(validate_unknown_local)
{
    EXPECT_INVALID("unknown_local", "code section", "local");
}

TEST(validate_unknown_global)
{
    EXPECT_INVALID("unknown_global", "code section", "global");
}

TEST(validate_unknown_function)
{
    EXPECT_INVALID("unknown_function", "code section", "function");
}

TEST(validate_unknown_type)
{
    EXPECT_INVALID("unknown_type", "code section", "type");
}

TEST(validate_unknown_memory)
{
    EXPECT_INVALID("unknown_memory", "code section", "memory");
}

TEST(validate_unknown_table)
{
    EXPECT_INVALID("unknown_table", "code section", "table");
}

TEST(validate_br_depth_out_of_range)
{
    EXPECT_INVALID("br_depth", "code section", NULL);
}

TEST(validate_br_if_depth_out_of_range)
{
    EXPECT_INVALID("br_if_depth", "code section", NULL);
}

TEST(validate_too_few_results)
{
    EXPECT_INVALID("result_count_short", "code section", NULL);
}

TEST(validate_too_many_results)
{
    EXPECT_INVALID("result_count_long", "code section", NULL);
}

TEST(validate_block_result_count)
{
    EXPECT_INVALID("block_result_count", "code section", NULL);
}

TEST(validate_if_without_else)
{
    EXPECT_INVALID("if_without_else", "code section", NULL);
}

TEST(validate_immutable_global_set)
{
    EXPECT_INVALID("immutable_global_set", "code section", "global");
}

TEST(validate_alignment_too_large)
{
    EXPECT_INVALID("alignment_too_large", "code section", "align");
    EXPECT_INVALID("alignment_too_large_store", "code section", "align");
}

TEST(validate_data_without_memory)
{
    EXPECT_INVALID("data_without_memory", "data section", "memory");
}

TEST(validate_start_with_params)
{
    EXPECT_INVALID("start_with_params", "start section", NULL);
}

TEST(validate_start_with_results)
{
    EXPECT_INVALID("start_with_results", "start section", NULL);
}

TEST(validate_duplicate_export)
{
    EXPECT_INVALID("duplicate_export", "export section", NULL);
}

TEST(validate_memory_min_over_max)
{
    EXPECT_INVALID("memory_min_over_max", "memory section", NULL);
}

TEST(validate_memory_too_large)
{
    EXPECT_INVALID("memory_too_large", "memory section", NULL);
}

TEST(validate_local_set_type)
{
    EXPECT_INVALID("local_set_type", "code section", "type mismatch");
}

TEST(validate_select_type)
{
    EXPECT_INVALID("select_type", "code section", "type mismatch");
}

TEST(validate_ref_func_undeclared)
{
    EXPECT_INVALID("ref_func_undeclared", "code section", NULL);
}

TEST(validate_global_init_not_constant)
{
    EXPECT_INVALID("global_init_not_const", "global section", NULL);
}

TEST(validate_global_init_type)
{
    EXPECT_INVALID("global_init_type", "global section", "type mismatch");
}

TEST(validate_elem_wrong_table_type)
{
    EXPECT_INVALID("elem_wrong_table_type", "elem", NULL);
}

TEST(validate_data_offset_type)
{
    EXPECT_INVALID("data_init_offset_type", "data section", NULL);
}

TEST(validate_memory_init_unknown_data)
{
    EXPECT_INVALID("memory_init_unknown_data", "code section", NULL);
}

TEST(validate_accepts_polymorphic_and_edge_cases)
{
    fixture_t fx;
    weft_val_t arg = weft_val_i32(1), res;
    fx_load(&fx, "valid_edges");
    ASSERT_EQ_INT(CALL_I32(&fx, "after_br", 0), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_br", 1, 0), 10);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_br", 1, 1), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_br", 1, 7), 17);
    ASSERT_EQ_INT(CALL_I32(&fx, "if_else", 1, 1), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "if_else", 1, 0), 2);
    ASSERT_EQ_INT(CALL_I32(&fx, "loop_params", 0), 0);
    ASSERT_OK_S(fx.store, fx_call(&fx, "select_ref", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.type, WEFT_FUNCREF);
    ASSERT_EQ_PTR(res.of.func, fx_func(&fx, "poly"));
    arg = weft_val_i32(0);
    ASSERT_OK_S(fx.store, fx_call(&fx, "select_ref", &arg, 1, &res, 1));
    ASSERT_NULL(res.of.func);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "poly", 0), WEFT_TRAP_UNREACHABLE);
}
