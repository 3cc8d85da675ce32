// libedit's readline interface (Debian: libedit-dev). Its header needs FILE declared first.
#include <stdio.h>
#include <editline/readline.h>
