/*
 * m_noinfo - a shared object that is not an ax module: it defines no
 * ax_module_info (test_module.c).
 */
int m_noinfo_answer(void);

int m_noinfo_answer(void)
{
    return 42;
}
