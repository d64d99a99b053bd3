from aion_core.cli import main

main()
