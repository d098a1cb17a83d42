/* The main of every layer_check_<folder> program (CMakeLists.txt): it is
 * never run. Linking it with all of a folder's objects and only the folders
 * and packages the folder declares is the check: a call into anything else
 * is an undefined symbol, and the link fails. */
int main(void)
{
    return 0;
}
