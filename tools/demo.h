/* demo.h - `msglog demo`: a scripted offline-first story on three replicas. */
#ifndef MSGLOG_TOOLS_DEMO_H
#define MSGLOG_TOOLS_DEMO_H

/* argv[0] is "demo". @return 0 when the replicas converged, 1 when they did
 * not or something failed, 2 for a bad command line. */
int demo_main(int argc, char **argv);

#endif /* MSGLOG_TOOLS_DEMO_H */
